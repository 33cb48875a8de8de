#!/usr/bin/env bash
# CI boots: `ksimg kbuild VERSION --arch A --boot-config --boot-test` builds the
# cell's boot config (matrix/arches.json boot.<era>: defconfig + enable + disable) and boots the
# result in qemu in-process, for k4/arm64 on 5.10.223 and k6/x86_64 on 6.1.176 (k4/mipsel on
# 5.10.223 is booted by kbuild_mipsel.sh, which already builds it). Sources: Debian's
# linux-source packages served as a kernel.org mirror on 127.0.0.1 (scripts/make-kernel-mirror).
# Checks per cell: exit 0, the verdict and `Linux version X` banner on stdout, metadata.json's
# config (source boot-config, the boot config used, every boot option in .config) and boot
# record (passed, banner, marker, log). Both build the initramfs target too and boot to
# userspace: the init compiled by the cell's gcc prints its KSIMG-USERSPACE-OK marker (verdict
# userspace: 64-bit little-endian userland on arm64 and x86_64), and the x86_64 kernel also runs
# the i386 init its image's i686 compiler builds (`boot-test --init-from-cell k6/x86_64
# --init-abi i386`: the compat ABI through IA32_EMULATION). Then the failure path: a boot that cannot reach the
# marker exits 5 with metadata.json saying so. Prints each build's duration.
# Skips (77) when a tool, a qemu or the Debian archive is unavailable.
set -euo pipefail
: "${KSIMG_BUILD_DIR:?}"
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools podman skopeo mmdebstrap jq curl dpkg-deb sha256sum qemu-system-aarch64 qemu-system-x86_64
need_static_server
need_debian bookworm
W="$KSIMG_TESTS_TMP/kbuild_boot"          # kept between runs: the mirror
mkdir -p "$W"
shared_layer_cache
run_dir kbuild_boot
podman_storage
checks=0

# The .debs are shared with kbuild_mipsel (same directory), the mirror is this test's own.
KSIMG_KERNEL_DEBS=${KSIMG_KERNEL_DEBS:-$KSIMG_TESTS_TMP/kbuild/debs} \
  "$KSIMG_SRC/scripts/make-kernel-mirror" "$W/mirror" 5.10.223 6.1.176 >"$T/mirror.out" || fail "make-kernel-mirror"
static_server "$W/mirror"
export KSIMG_KERNEL_MIRROR=$STATIC_URL

# boot_cell ERA ARCH VERSION TARGETS: build the boot config, boot it, check everything.
boot_cell() {
  local era=$1 arch=$2 version=$3 targets=$4 out="$T/out-$2" start secs
  local M="$out/metadata.json" bc
  bc=$(jq -c --arg a "$arch" --arg e "$era" '.arches[$a] as $x | $x.boot[$e] |
        {defconfig: (.defconfig // $x.defconfig[$e]), enable, disable}' "$KSIMG_SRC/matrix/arches.json")
  start=$(date +%s)
  "$KSIMG" kbuild "$version" --arch "$arch" --lock "$KSIMG_SRC/ksimg.lock.json" --layout "$T/oci" -o "$out" \
    --ccache-dir "$T/ccache-$arch" --boot-config --boot-test --targets "$targets" >"$T/$arch.out" 2>"$T/$arch.err" \
    || { tail -40 "$T/$arch.err" >&2; cat "$T/$arch.out" >&2; fail "$era/$arch: ksimg kbuild --boot-config --boot-test"; }
  secs=$(( $(date +%s) - start ))
  grep -q "^$era/$arch: boot passed (userspace)" "$T/$arch.out" || fail "$era/$arch: no verdict on stdout: $(cat "$T/$arch.out")"
  grep -q "^  Linux version $version" "$T/$arch.out" || fail "$era/$arch: no banner on stdout: $(cat "$T/$arch.out")"
  checks=$((checks + 2))
  jqm() { jq -e "$@" "$M" >/dev/null || fail "$era/$arch metadata.json: ${*: -1} (is: $(jq -c '{status, config, boot}' "$M" | head -c 3000))"; checks=$((checks + 1)); }
  jqm '.status == "succeeded" and .cell == "'"$era/$arch"'"'
  jqm --argjson b "$bc" '.config.source == "boot-config" and (.config.boot_config | {defconfig, enable, disable}) == $b
        and .config.boot_config.cell == "'"$era/$arch"'" and .config.enable == [] and .config.disable == []'
  jqm '.boot.status == "passed" and .boot.verdict == "userspace" and (.boot.banner | startswith("Linux version '"$version"'"))
        and (.boot.marker | startswith("KSIMG-USERSPACE-OK '"$era/$arch $version"' ")) and (.boot.marker | endswith("exec=ok"))
        and (.boot.seconds > 0) and (.boot.command | length > 4)'
  [ -s "$(jq -r .boot.log "$M")" ] || fail "$era/$arch: boot log $(jq -r .boot.log "$M") is empty"
  for sym in $(jq -r '.enable[]' <<<"$bc"); do
    grep -q "^CONFIG_${sym#CONFIG_}=y" "$out/.config" || fail "$era/$arch: boot config's $sym is not =y in .config"
  done
  for sym in $(jq -r '.disable[]' <<<"$bc"); do
    grep -q "^CONFIG_${sym#CONFIG_}=[ym]" "$out/.config" && fail "$era/$arch: boot config's $sym is still on"
  done
  checks=$((checks + 3))
  echo "kbuild_boot: $era/$arch $version: build + boot ${secs}s (boot $(jq -r '.boot.seconds | floor' "$M")s)"
}

# KSIMG_BOOT_CELLS picks a subset when debugging (the failure checks below need k6/x86_64).
cells=${KSIMG_BOOT_CELLS:-"k4/arm64 k6/x86_64"}
[[ " $cells " == *" k4/arm64 "* ]] && boot_cell k4 arm64 5.10.223 vmlinux,image,initramfs
[[ " $cells " == *" k6/x86_64 "* ]] || { echo "kbuild_boot: $checks checks passed (cells: $cells)"; exit 0; }
boot_cell k6 x86_64 6.1.176 vmlinux,image,initramfs

# The compat ABI no cell of its own builds: the same x86_64 kernel runs an i386 init, compiled by
# the k6/x86_64 image's i686-linux-gnu-gcc (--init-abi i386), through IA32_EMULATION.
"$KSIMG" boot-test "$T/out-x86_64" --init-from-cell k6/x86_64 --init-abi i386 --lock "$KSIMG_SRC/ksimg.lock.json" \
  --layout "$T/oci" --json >"$T/i386.json" 2>"$T/i386.err" \
  || { tail -30 "$T/i386.err" >&2; fail "k6/x86_64 <- i386: boot-test --init-from-cell k6/x86_64 --init-abi i386"; }
jq -e '.verdict == "userspace" and (.marker | startswith("KSIMG-USERSPACE-OK k6/x86_64:i386 6.1.176 "))
       and (.marker | test(" bits=32 ")) and (.marker | endswith("exec=ok"))' "$T/i386.json" >/dev/null \
  || fail "k6/x86_64 <- i386: $(cat "$T/i386.json")"
I="$T/out-x86_64/init-k6-x86_64-i386"
jq -e '.targets.initramfs.abi == "i386"' "$I/metadata.json" >/dev/null || fail "i386 init: no abi in its metadata.json"
checks=$((checks + 2))
echo "kbuild_boot: k6/x86_64 <- i386: $(jq -r .marker "$T/i386.json")"

# The boot fails although the build is fine -> exit 5, metadata.json keeps the build and records
# the boot. The same command again (an incremental no-op) with a qemu on PATH that dies at once.
mkdir -p "$T/bin"
printf '#!/bin/sh\necho "qemu: could not load kernel" >&2\nexit 1\n' >"$T/bin/qemu-system-x86_64"
chmod +x "$T/bin/qemu-system-x86_64"
rc=0
PATH="$T/bin:$PATH" "$KSIMG" kbuild 6.1.176 --arch x86_64 --lock "$KSIMG_SRC/ksimg.lock.json" --layout "$T/oci" \
  -o "$T/out-x86_64" --ccache-dir "$T/ccache-x86_64" --boot-config --boot-test --targets vmlinux,image \
  >"$T/bad.out" 2>"$T/bad.err" || rc=$?
[ "$rc" = 5 ] || { tail -20 "$T/bad.err" >&2; fail "a kernel that does not boot: exit $rc, want 5"; }
grep -q "the kernel built, but its boot test failed" "$T/bad.err" || fail "no one-line boot failure: $(tail -3 "$T/bad.err")"
grep -q "^k6/x86_64: boot failed" "$T/bad.out" || fail "no failed verdict on stdout: $(cat "$T/bad.out")"
jq -e '.status == "succeeded" and .config.reused == true and .boot.status == "failed" and (.boot.reason | test("status 1"))' \
  "$T/out-x86_64/metadata.json" >/dev/null || fail "failed boot: $(jq -c '{status, config, boot}' "$T/out-x86_64/metadata.json")"
checks=$((checks + 4))

# --boot-test without the cell's qemu: one line naming the package, before anything slow.
mkdir -p "$T/empty"
rc=0
PATH="$T/empty" "$KSIMG" kbuild 6.1.176 --arch x86_64 --boot-test --layout "$T/none" 2>"$T/noqemu.err" || rc=$?
[ "$rc" = 1 ] && grep -q "qemu-system-x86_64 is not installed; install the Debian package qemu-system-x86" "$T/noqemu.err" \
  || fail "no qemu: exit $rc, $(cat "$T/noqemu.err")"
tail -1 "$T/noqemu.err" | grep -q "^ksimg: --boot-test: qemu-system-x86_64 is not installed" \
  || fail "no qemu: the error is not one last line: $(cat "$T/noqemu.err")"
checks=$((checks + 2))

# --boot-config conflicts with --defconfig, before anything slow.
rc=0
"$KSIMG" kbuild 6.1.176 --arch x86_64 --boot-config --defconfig tinyconfig --layout "$T/none" 2>"$T/conflict.err" || rc=$?
[ "$rc" = 2 ] && grep -q -- "--boot-config and --defconfig exclude each other" "$T/conflict.err" \
  || fail "conflict: exit $rc, $(cat "$T/conflict.err")"
[ ! -e "$T/none" ] || fail "a flag error was found after the layout was touched"
checks=$((checks + 2))
echo "kbuild_boot: $checks checks passed"
