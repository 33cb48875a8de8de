#!/usr/bin/env bash
# The arm64 `kbuild` launcher (for the linux/arm64 entry of multi-platform cell images):
# scripts/build-kbuild-arm64 cross-compiles it with Debian's g++-aarch64-linux-gnu into a
# static aarch64 ELF (in BUILD_DIR/kbuild-arm64-build, the tree the `kbuild-arm64` cmake target
# also uses, kept for incremental runs), which runs under qemu-aarch64-static and answers like the
# amd64 one.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools aarch64-linux-gnu-g++ qemu-aarch64-static file cmake ninja
: "${KSIMG_BUILD_DIR:?}"
scratch kbuild_arm64
export CMAKE_ARGS="-DCMAKE_CXX_COMPILER_LAUNCHER=$(command -v ccache || true)"
[ -n "${CMAKE_ARGS#*=}" ] || CMAKE_ARGS=""
bin=$(JOBS=2 "$KSIMG_SRC/scripts/build-kbuild-arm64" "$KSIMG_BUILD_DIR/kbuild-arm64-build" 2>build.log) || { tail -20 build.log; fail "cross build failed"; }
desc=$(file -b "$bin")
[[ "$desc" == *"ARM aarch64"* && "$desc" == *"statically linked"* && "$desc" != *"not stripped"* ]] ||
  fail "not a stripped static aarch64 ELF: $desc"
ok "scripts/build-kbuild-arm64: $desc"
export KSIMG_ERA=k4 KSIMG_ARCH=mipsel KSIMG_RECIPE=debian-bullseye-gcc10-mipsel
for args in "--version" "check 5.10.1" "check 3.18.1"; do
  rc_a=0 rc_r=0
  # shellcheck disable=SC2086
  "$KSIMG_BUILD_DIR/kbuild" $args >amd64.txt 2>&1 || rc_a=$?
  # shellcheck disable=SC2086
  qemu-aarch64-static "$bin" $args >arm64.txt 2>&1 || rc_r=$?
  [ "$rc_a" = "$rc_r" ] && cmp -s amd64.txt arm64.txt ||
    fail "kbuild $args: amd64 exit $rc_a '$(cat amd64.txt)', arm64 exit $rc_r '$(cat arm64.txt)'"
done
ok "under qemu-aarch64-static it answers --version and check like the amd64 kbuild (exit codes and text)"
echo "PASS: $CHECKS checks"
