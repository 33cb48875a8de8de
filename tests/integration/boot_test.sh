#!/usr/bin/env bash
# `ksimg boot-test` against a real kernel in real qemu: Debian's own amd64 kernel (fetched with
# apt-get download, which verifies it against the signed archive index) booted with the
# k6/x86_64 settings must reach the root-fs panic; the result lands in OUT/metadata.json; a
# kernel in the wrong machine times out; a missing qemu names its Debian package; bad input is
# a usage error. Skips (77) when qemu-system-x86 is missing or the archive is unreachable.
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_TESTS_TMP:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
for t in qemu-system-x86_64 qemu-system-aarch64 apt-get dpkg-deb jq; do
  command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps)"
done
mkdir -p "$KSIMG_TESTS_TMP/boot_test"
W="$KSIMG_TESTS_TMP/boot_test"   # keeps the downloaded kernel between runs of this build dir
T=$(mktemp -d "$W/run.XXXXXX")
trap 'rm -rf "$T"' EXIT
checks=0

if ! ls "$W"/vmlinuz-* >/dev/null 2>&1; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || skip "apt knows no linux-image-amd64 (run apt-get update)"
  (cd "$T" && apt-get download "$pkg" >/dev/null 2>&1) || skip "cannot download $pkg from the Debian archive"
  dpkg-deb --fsys-tarfile "$T"/"$pkg"_*.deb | tar -x -C "$T" --wildcards './boot/vmlinuz-*'
  mv "$T"/boot/vmlinuz-* "$W/"
fi
kernel=$(ls "$W"/vmlinuz-* | head -1)

# 1. A kbuild-style output directory: metadata.json names the cell, the boot image is bzImage.
mkdir -p "$T/out"
cp "$kernel" "$T/out/bzImage"
echo '{"cell": "k6/x86_64", "status": "succeeded"}' >"$T/out/metadata.json"
"$KSIMG" boot-test "$T/out" --timeout 180 >"$T/boot.out" 2>"$T/boot.err" || fail "boot-test: $(cat "$T/boot.out" "$T/boot.err")"
grep -q "^k6/x86_64: boot passed" "$T/boot.out" || fail "verdict: $(cat "$T/boot.out")"
grep -q "^  Linux version " "$T/boot.out" || fail "no banner printed"
jq -e '.status == "succeeded" and .boot.status == "passed" and (.boot.banner | startswith("Linux version"))
       and (.boot.marker | test("VFS|mount root|panic")) and (.boot.command[0] == "qemu-system-x86_64")
       and .boot.seconds > 0' "$T/out/metadata.json" >/dev/null || fail "metadata: $(jq -c .boot "$T/out/metadata.json")"
[ -s "$T/out/boot.log" ] || fail "no boot.log"
checks=$((checks + 4))

# 2. --kernel/--cell with --json; qemu is stopped at the marker, far before the timeout.
"$KSIMG" boot-test --kernel "$kernel" --cell k6/x86_64 --log "$T/b2.log" --json >"$T/b2.json" 2>/dev/null || fail "boot-test --kernel"
jq -e '.status == "passed" and .seconds < 170' "$T/b2.json" >/dev/null || fail "json: $(cat "$T/b2.json")"
checks=$((checks + 1))

# 3. An x86 kernel in the arm64 machine never boots: a timeout, exit 1, the log kept.
rc=0; "$KSIMG" boot-test --kernel "$kernel" --cell k6/arm64 --timeout 8 --log "$T/b3.log" >"$T/b3.out" 2>"$T/b3.err" || rc=$?
[ "$rc" = 1 ] || fail "wrong machine: exit $rc"
grep -q "boot test of k6/arm64 timeout" "$T/b3.err" || fail "wrong machine: $(cat "$T/b3.err")"
checks=$((checks + 1))

# 4. No qemu on PATH: one line naming the Debian package.
mkdir -p "$T/bin"; ln -s "$(command -v timeout)" "$T/bin/timeout"
rc=0; PATH="$T/bin" "$KSIMG" boot-test --kernel "$kernel" --cell k4/mipsel 2>"$T/b4.err" || rc=$?
[ "$rc" = 1 ] && grep -q "qemu-system-mipsel is not installed; install the Debian package qemu-system-mips" "$T/b4.err" \
  || fail "missing qemu: $rc $(cat "$T/b4.err")"
checks=$((checks + 1))

# 5. Bad input: an output dir without metadata, a cell without a kernel, no arguments.
rc=0; "$KSIMG" boot-test "$T/bin" 2>"$T/b5.err" || rc=$?
[ "$rc" = 2 ] && grep -q "metadata.json does not exist" "$T/b5.err" || fail "no metadata: $rc $(cat "$T/b5.err")"
rc=0; "$KSIMG" boot-test --kernel "$kernel" --cell k4/powerpcle 2>"$T/b5.err" || rc=$?
[ "$rc" = 2 ] && grep -q "no boot settings" "$T/b5.err" || fail "powerpcle: $rc $(cat "$T/b5.err")"
rc=0; "$KSIMG" boot-test 2>"$T/b5.err" || rc=$?
[ "$rc" = 2 ] || fail "no arguments: $rc"
checks=$((checks + 3))
echo "boot_test: $checks checks passed"
