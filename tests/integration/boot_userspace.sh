#!/usr/bin/env bash
# Boot to userspace on a 32-bit big-endian cell: `ksimg kbuild 5.10.223 --arch mipseb
# --boot-config --boot-test` with no --targets builds the default targets plus the initramfs
# (a static /init compiled by the cell's own gcc against its glibc), boots it in
# qemu-system-mips and passes on the init's marker line, which proves the kernel runs the
# cell's userland: machine, byte order and word size checked by the init, floating point,
# fork + exec + wait. Then `ksimg boot-test` on the same kernel with users' initramfs files:
# a cpio packed with the system's cpio plus --expect and --append (the match is the kernel
# command line carrying the appended argument), an /init the kernel cannot execute
# (init-failed, error -8 named as an exec format error, exit 1), --no-initramfs (root-fs),
# and the bad-input lines (missing file, a tar, an invalid regex, --expect without an
# initramfs, --init-from-cell of another era or with --initramfs, --init-abi the cell does not
# offer or without --init-from-cell: exit 2, metadata.json untouched).
# Skips (77) when a tool, the qemu or the Debian archive is unavailable.
set -euo pipefail
: "${KSIMG_BUILD_DIR:?}"
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools podman skopeo mmdebstrap jq curl dpkg-deb sha256sum cpio gzip tar file qemu-system-mips
need_static_server
need_debian bullseye
W="$KSIMG_TESTS_TMP/boot_userspace"
mkdir -p "$W"
shared_layer_cache
run_dir boot_userspace
podman_storage

KSIMG_KERNEL_DEBS=${KSIMG_KERNEL_DEBS:-$KSIMG_TESTS_TMP/kbuild/debs} \
  "$KSIMG_SRC/scripts/make-kernel-mirror" "$W/mirror" 5.10.223 >"$T/mirror.out" || fail "make-kernel-mirror"
static_server "$W/mirror"
export KSIMG_KERNEL_MIRROR=$STATIC_URL
OUT="$T/out"
M="$OUT/metadata.json"

start=$(date +%s)
"$KSIMG" kbuild 5.10.223 --arch mipseb --lock "$KSIMG_SRC/ksimg.lock.json" --layout "$T/oci" -o "$OUT" \
  --ccache-dir "$T/ccache" --boot-config --boot-test >"$T/build.out" 2>"$T/build.err" \
  || { tail -30 "$T/build.err" >&2; cat "$T/build.out" >&2; fail "ksimg kbuild 5.10.223 --arch mipseb --boot-config --boot-test"; }
secs=$(( $(date +%s) - start ))
grep -q "^k4/mipseb: boot passed (userspace)" "$T/build.out" || fail "no userspace verdict: $(cat "$T/build.out")"
marker="KSIMG-USERSPACE-OK k4/mipseb 5.10.223 machine=mips endian=big bits=32 float=1.414214 exec=ok"
grep -qF "  marker: $marker" "$T/build.out" || fail "marker line: $(cat "$T/build.out")"
jq -e --arg m "$marker" '.status == "succeeded" and .boot.status == "passed" and .boot.verdict == "userspace"
      and .boot.marker == $m and (.boot.initramfs | endswith("/initramfs.cpio.gz"))
      and (.boot.command | index("-initrd")) != null' "$M" >/dev/null \
  || fail "metadata.json boot: $(jq -c .boot "$M")"
ok "kbuild --boot-test without --targets built the initramfs and booted k4/mipseb to userspace (${secs}s)"
file "$OUT/build/initramfs/init" | grep -q "ELF 32-bit MSB executable, MIPS.*statically linked" \
  || fail "the init is not a static MIPS32 big-endian ELF: $(file "$OUT/build/initramfs/init")"

# A user's cpio, packed with the system's cpio: the init taken out of kbuild's initramfs.
mkdir -p "$T/root" "$T/bad"
(cd "$T/root" && gzip -dc "$OUT/initramfs.cpio.gz" | cpio -id --quiet && find . | cpio -o -H newc --quiet | gzip -n >"$T/user.cpio.gz")
"$KSIMG" boot-test "$OUT" --initramfs "$T/user.cpio.gz" --append ksimg.probe=42 \
  --expect 'Kernel command line:.* ksimg\.probe=42' >"$T/user.out" 2>"$T/user.err" \
  || fail "--initramfs/--expect/--append: $(cat "$T/user.out" "$T/user.err")"
jq -e '.boot.verdict == "userspace" and (.boot.marker | test("Kernel command line:.*ksimg.probe=42"))
      and .boot.expect == "Kernel command line:.* ksimg\\.probe=42"' "$M" >/dev/null \
  || fail "user initramfs: $(jq -c .boot "$M")"
ok "a user's cpio boots with --append, passing on its --expect line"

# An /init the kernel cannot execute: init-failed, the kernel's errno in words, exit 1.
printf 'not a program\n' >"$T/bad/init"
chmod 755 "$T/bad/init"
(cd "$T/bad" && find . | cpio -o -H newc --quiet >"$T/bad.cpio")
rc=0
"$KSIMG" boot-test "$OUT" --initramfs "$T/bad.cpio" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
[ "$rc" = 1 ] || fail "an init the kernel cannot run: exit $rc, want 1"
grep -q "^k4/mipseb: boot failed (init-failed)" "$T/bad.out" || fail "verdict: $(cat "$T/bad.out")"
grep -q "Failed to execute /init (error -8) = exec format error" "$T/bad.err" || fail "reason: $(cat "$T/bad.err")"
jq -e '.boot.verdict == "init-failed" and (.boot.reason | test("error -8"))' "$M" >/dev/null \
  || fail "init-failed metadata: $(jq -c .boot "$M")"
ok "an init of no known format is init-failed with the kernel's error -8 named"

"$KSIMG" boot-test "$OUT" --no-initramfs >"$T/root.out" 2>&1 || fail "--no-initramfs: $(cat "$T/root.out")"
grep -q "^k4/mipseb: boot passed (root-fs)" "$T/root.out" || fail "--no-initramfs verdict: $(cat "$T/root.out")"
ok "--no-initramfs boots the same kernel to the root-fs panic"

# Bad input: one line, exit 2, metadata.json unchanged.
cp "$M" "$T/meta.before"
tar -C "$T/bad" -cf "$T/not-cpio.tar" init
bad_input() {  # WANT ARGS...: exit 2 and WANT in the one-line error
  local want=$1 rc=0
  shift
  "$KSIMG" boot-test "$OUT" "$@" >/dev/null 2>"$T/in.err" || rc=$?
  [ "$rc" = 2 ] || fail "boot-test $*: exit $rc, want 2 ($(cat "$T/in.err"))"
  grep -q -- "$want" "$T/in.err" || fail "boot-test $*: $(cat "$T/in.err")"
  [ "$(wc -l <"$T/in.err")" -le 2 ] || fail "boot-test $*: not one line: $(cat "$T/in.err")"
}
bad_input "no such file" --initramfs "$T/absent.cpio.gz"
bad_input "is not a cpio archive" --initramfs "$T/not-cpio.tar"
bad_input "is not an extended regular expression" --initramfs "$T/user.cpio.gz" --expect 'a(b'
bad_input "expect needs an initramfs" --no-initramfs --expect login
bad_input "the init must come from the kernel's era (k4/mipsel)" --init-from-cell k6/mipsel
bad_input "init-from-cell excludes --initramfs" --init-from-cell k4/mipsel --initramfs "$T/user.cpio.gz"
bad_input "of a known arch" --init-from-cell k4/sparc
bad_input "k4/mipsel's toolchain builds no such userland (no compat ABI)" --init-from-cell k4/mipsel --init-abi i386
bad_input "compat ABIs: i386" --init-from-cell k4/x86_64 --init-abi x32
bad_input "init-abi requires --init-from-cell" --init-abi i386
cmp -s "$M" "$T/meta.before" || fail "a refused boot-test changed metadata.json"
ok "bad --initramfs/--expect/--init-from-cell input: one line each, exit 2, metadata.json untouched"
echo "boot_userspace: PASS: $CHECKS checks"
