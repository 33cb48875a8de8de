#!/usr/bin/env bash
# `ksimg toolchain-layer` for the k4/mipsel Debian recipe against the real Debian archive
# (the host's apt sources, or KSIMG_DEBIAN_MIRROR): the layer has the unversioned
# mipsel-linux-gnu-gcc link and a status.d entry per package, its ELF closure check passes
# on a trixie minbase+gcc base (mmdebstrap, cached between runs of one build dir), and the
# cross gcc from base + layer really runs in a chroot: -dumpmachine, then a freestanding
# file compiled and linked into a MIPS32 little-endian ELF. Skipped (77) when the archive
# is unreachable, a tool is missing, or we are not root (mmdebstrap --mode=root, chroot).
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools jq gpgv mmdebstrap tar file chroot
[ "$(id -u)" = 0 ] || skip "needs root (mmdebstrap --mode=root and chroot)"
need_debian_keyring
run_dir toolchain_debian
KEEP="${KSIMG_TESTS_TMP%/}/toolchain_debian-keep"  # the base tarball and .debs, reused by later runs
mkdir -p "$KEEP"
checks=0
ok() { checks=$((checks + 1)); }  # counted silently; the last line prints the total
RECIPE=debian-bullseye-gcc10-mipsel
L="$T/ksimg.lock.json"

# The lock doubles as the reachability probe.
debian_lock --cell k4/mipsel --lock "$L"
MIRROR=${KSIMG_DEBIAN_MIRROR:-$(sed -n 's/^debug: Debian mirror from the host.s apt sources: //p' "$T/err" | head -1)}
[ -n "$MIRROR" ] || fail "no mirror in the lock's debug output: $(cat "$T/err")"

# --- The base: trixie minbase + gcc, as one layer (the tarball is kept for later runs).
BASE_TAR="$KEEP/trixie-minbase-gcc.tar"
if [ ! -s "$BASE_TAR" ]; then
  mmdebstrap --quiet --mode=root --variant=minbase --include=gcc trixie "$T/base.tar" "$MIRROR" 2>"$T/mmdebstrap.err" \
    || fail "mmdebstrap: $(tail -5 "$T/mmdebstrap.err")"
  mv "$T/base.tar" "$BASE_TAR"
fi
"$KSIMG" image build --layer "$BASE_TAR" --layout "$T/oci" --tag base >/dev/null 2>"$T/err" \
  || fail "image build (base): $(cat "$T/err")"

# --- The toolchain layer, with the closure check against the base.
"$KSIMG" toolchain-layer --recipe "$RECIPE" --lock "$L" --layout "$T/oci" --tag tc --cache "$KEEP/cache" \
  --base-layout "$T/oci:base" --json >"$T/tc.json" 2>"$T/err" || fail "toolchain-layer: $(cat "$T/err")"
jq -e '.closure.binaries > 20 and .closure.libraries > 50 and .cross_compile == "mipsel-linux-gnu-" and .pinned' \
  "$T/tc.json" >/dev/null || fail "result: $(cat "$T/tc.json")"; ok
grep -qF 'all resolved' "$T/err" || fail "no closure summary: $(cat "$T/err")"; ok
BLOB="$T/oci/blobs/sha256/$(jq -r '.layer | sub("sha256:"; "")' "$T/tc.json")"
tar -tvzf "$BLOB" >"$T/members"
grep -qE ' usr/bin/mipsel-linux-gnu-gcc -> mipsel-linux-gnu-gcc-10$' "$T/members" \
  || fail "no mipsel-linux-gnu-gcc -> gcc-10 link: $(grep 'usr/bin/mipsel' "$T/members" | head)"; ok
grep -qE ' usr/bin/mipsel-linux-gnu-cpp -> mipsel-linux-gnu-cpp-10$' "$T/members" || fail "no cpp link"; ok
mkdir -p "$T/x" && tar -xzf "$BLOB" -C "$T/x" var/lib/dpkg/status.d
n=0
while IFS=$'\t' read -r name version; do
  f="$T/x/var/lib/dpkg/status.d/$name"
  grep -qx "Package: $name" "$f" && grep -qx "Version: $version" "$f" || fail "status.d/$name: $(head -3 "$f" 2>&1)"
  n=$((n + 1))
done < <(jq -r --arg r "$RECIPE" '.recipes[$r].packages[] | [.name, .version] | @tsv' "$L")
[ "$n" -ge 6 ] || fail "only $n packages in the lock"; ok
[ "$(jq -r '.packages | length' "$T/tc.json")" = "$n" ] || fail "the result lists other packages"; ok

# --- Run the cross compiler from base + toolchain layer, in a chroot.
R="$T/root"
mkdir -p "$R"
tar -xf "$BASE_TAR" -C "$R"
tar -xzf "$BLOB" -C "$R"
[ "$(chroot "$R" mipsel-linux-gnu-gcc -dumpmachine)" = mipsel-linux-gnu ] || fail "-dumpmachine"; ok
printf 'int triple(int x) { return 3 * x; }\nvoid entry(void) { for (;;) triple(2); }\n' >"$R/tmp/free.c"
chroot "$R" sh -c 'cd /tmp && mipsel-linux-gnu-gcc -O2 -ffreestanding -fno-pic -c free.c -o free.o &&
  mipsel-linux-gnu-gcc -nostdlib -static -no-pie -Wl,-e,entry -o free free.o' 2>"$T/err" \
  || fail "compile/link in the chroot: $(cat "$T/err")"
desc=$(file -b "$R/tmp/free")
case "$desc" in
  *"32-bit LSB"*MIPS*MIPS32*) ok ;;
  *) fail "file says: $desc" ;;
esac
echo "toolchain_debian: $checks checks passed ($(jq -r '.closure.binaries' "$T/tc.json") host ELF files checked; $desc)"
