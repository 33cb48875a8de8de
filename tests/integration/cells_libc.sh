#!/usr/bin/env bash
# A C library in every Debian cell: each cell image, built from the committed ksimg.lock.json,
# compiles `${CROSS_COMPILE}gcc -static -O2 hello.c -o hello` against the glibc its recipe pins,
# and the ELF header of the result is the cell's own: class (word size), data (byte order),
# e_machine and the e_flags ABI (mips o32 vs n64, armel soft-float vs armhf hard-float EABI5,
# ppc64 ELFv1 vs ppc64le ELFv2, riscv64 lp64d). Where qemu-user has the arch, the binary also
# runs and prints its float result. `kbuild info` in the image names the glibc. The image also
# compiles the init that kbuild's initramfs target uses (carried at /usr/share/ksimg/userland/),
# whose own checks pass under qemu-user. A cell whose recipe offers a compat userland
# (`kbuild info --json` .compat: x86_64's i386) also compiles a static hello with that ABI's
# compiler, which is an i386 ELF and runs here (the amd64 host runs i386 natively).
#
# Cells: KSIMG_LIBC_CELLS (space-separated, or "all" for the 24 Debian cells). The default is
# the six cells whose ABI checks differ from every other: k4/armel (soft-float EABI),
# k6/armhf (hard-float EABI), k4/mipseb (o32 big-endian), k6/mips64el (n64, trixie's separate
# mipsen glibc), k6/powerpc64 (ELFv1 big-endian), k4/x86_64 (the native bullseye compiler with
# its binutils moved aside, and its i386 compat compiler). Each image costs ~50 s to build once its
# .debs are cached (measured on k4/mipsel); all 24 take ~20 min, too long for every CI run, and
# the others repeat an ABI already checked here (their recipes differ only in the arch key,
# and recipes_libc_test.cpp checks every recipe's libc against the lock). Layers come from the
# shared cache (cells_build's), so a rerun only loads images.
# The build runs its smoke check, which also loads each image into (private) podman storage.
# Skips (77) when a tool or the Debian archive is unavailable.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools podman skopeo mmdebstrap jq od curl
need_debian bullseye
shared_layer_cache
run_dir cells_libc
podman_storage
export KSIMG_LAYOUT="$T/oci"

# Per arch: class data e_machine flags-mask flags-want [qemu-user]
declare -A want=(
  [arm64]="2 1 183 0x00000000 0x00000000 aarch64"
  [armel]="1 1 40 0xff000600 0x05000200 arm"
  [armhf]="1 1 40 0xff000600 0x05000400 arm"
  [mipseb]="1 2 8 0x0000f020 0x00001000 mips"
  [mipsel]="1 1 8 0x0000f020 0x00001000 mipsel"
  [mips64eb]="2 2 8 0x0000f020 0x00000000 mips64"
  [mips64el]="2 1 8 0x0000f020 0x00000000 mips64el"
  [powerpc]="1 2 20 0x00000000 0x00000000 ppc"
  [powerpc64]="2 2 21 0x00000003 0x00000001 ppc64"
  [powerpc64le]="2 1 21 0x00000003 0x00000002 ppc64le"
  [riscv64]="2 1 243 0x00000007 0x00000005 riscv64"
  [x86_64]="2 1 62 0x00000000 0x00000000 x86_64"
)

cells=${KSIMG_LIBC_CELLS:-k4/armel k6/armhf k4/mipseb k6/mips64el k6/powerpc64 k4/x86_64}
if [ "$cells" = all ]; then
  cells=$(for e in k4 k6; do for a in "${!want[@]}"; do echo "$e/$a"; done; done | sort)
fi
args=(); for c in $cells; do args+=(--cell "$c"); done
start=$(date +%s)
"$KSIMG" build --lock "$KSIMG_SRC/ksimg.lock.json" "${args[@]}" >"$T/build.out" 2>"$T/build.err" \
  || { tail -20 "$T/build.err" >&2; fail "ksimg build ${args[*]}"; }
echo "built $(wc -w <<<"$cells") images in $(($(date +%s) - start)) s"

cat >"$T/hello.c" <<'C'
#include <stdio.h>
int main(int argc, char **argv) {
  volatile double x = argc + 1.5;
  printf("hello %.3f\n", x * x);
  return 0;
}
C

# u LEN OFFSET FILE BIGENDIAN: the unsigned integer of LEN bytes at OFFSET
u() {
  local bytes
  bytes=$(od -A n -t x1 -j "$2" -N "$1" "$3" | tr -d ' \n')
  [ "$4" = 2 ] || bytes=$(echo "$bytes" | fold -w2 | tac | tr -d '\n')
  echo $((16#$bytes))
}

for c in $cells; do
  tag=${c/\//-} arch=${c#*/}
  read -r class data machine mask flags qemu <<<"${want[$arch]}"
  bits=$((class * 32)) endian=$([ "$data" = 1 ] && echo little || echo big)
  machine_prefix=${qemu%el}
  init_flags="-DKSIMG_CELL='\"$c\"' -DKSIMG_BITS=$bits -DKSIMG_ENDIAN='\"$endian\"' -DKSIMG_MACHINE='\"$machine_prefix\"'"
  podman run --rm --network none -v "$T:/w" -w /w "localhost/kernelsmith:$tag" \
    sh -c "\${CROSS_COMPILE}gcc -static -O2 hello.c -o hello-$tag && kbuild info &&
           \${CROSS_COMPILE}gcc -static -O2 $init_flags /usr/share/ksimg/userland/init.c -o init-$tag" \
    >"$T/$tag.info" 2>"$T/$tag.err" || fail "$c: static compile: $(tail -5 "$T/$tag.err")"
  grep -q "glibc [0-9.]* (libc6-dev" "$T/$tag.info" || fail "$c: kbuild info names no glibc: $(cat "$T/$tag.info")"
  f="$T/hello-$tag"
  [ "$(od -A n -t x1 -N 4 "$f" | tr -d ' ')" = 7f454c46 ] || fail "$c: not an ELF file"
  got_class=$(u 1 4 "$f" 1) got_data=$(u 1 5 "$f" 1)
  [ "$got_class" = "$class" ] && [ "$got_data" = "$data" ] || fail "$c: class $got_class data $got_data, want $class $data"
  [ "$(u 2 18 "$f" "$data")" = "$machine" ] || fail "$c: e_machine $(u 2 18 "$f" "$data"), want $machine"
  off=$([ "$class" = 1 ] && echo 36 || echo 48)
  got_flags=$(u 4 "$off" "$f" "$data")
  [ $((got_flags & mask)) = $((flags)) ] || fail "$c: e_flags $(printf 0x%08x "$got_flags") & $mask, want $flags"
  [ "$(u 2 16 "$f" "$data")" = 2 ] || fail "$c: not ET_EXEC (static)"
  ok "$c: static hello, class $class data $data e_machine $machine e_flags $(printf 0x%08x "$got_flags")"
  if command -v "qemu-$qemu" >/dev/null; then
    out=$("qemu-$qemu" "$f") || fail "$c: qemu-$qemu could not run the binary"
    [ "$out" = "hello 6.250" ] || fail "$c: qemu-$qemu printed '$out'"
    ok "$c: runs under qemu-$qemu"
    # The init kbuild's initramfs target builds (the launcher layer's userland/init.c): its
    # machine, byte order, word size and float checks pass under qemu-user. Its fork+exec of
    # itself needs the kernel to run a foreign ELF (binfmt_misc), so that check may fail here.
    out=$("qemu-$qemu" "$T/init-$tag" 2>&1 || true)
    bad=$(grep "^KSIMG-USERSPACE-FAIL" <<<"$out" | grep -v " fork-exec-wait$" || true)
    [ -z "$bad" ] && grep -q "^KSIMG-USERSPACE-" <<<"$out" || fail "$c: the init under qemu-$qemu: $out"
    ok "$c: the carried init's machine, endian, bits and float checks pass under qemu-$qemu"
  fi
  # The recipe's compat userlands: the image's own `kbuild info --json` lists them.
  podman run --rm --network none "localhost/kernelsmith:$tag" kbuild info --json >"$T/$tag.json" \
    || fail "$c: kbuild info --json"
  # The x86_64 recipes list i386; an empty list there would skip the check below unnoticed.
  [ "$arch" != x86_64 ] || jq -e '[.compat[].abi] == ["i386"]' "$T/$tag.json" >/dev/null \
    || fail "$c: kbuild info --json lists no i386 compat userland: $(jq -c .compat "$T/$tag.json")"
  while read -r abi cc; do
    [ "$abi" = i386 ] || fail "$c: compat ABI $abi has no expectation in this test"
    podman run --rm --network none -v "$T:/w" -w /w "localhost/kernelsmith:$tag" \
      sh -c "${cc}gcc -static -O2 hello.c -o hello-$tag-$abi" </dev/null >"$T/$tag-$abi.err" 2>&1 \
      || fail "$c: ${cc}gcc -static: $(tail -5 "$T/$tag-$abi.err")"
    f="$T/hello-$tag-$abi"
    [ "$(u 1 4 "$f" 1) $(u 1 5 "$f" 1) $(u 2 18 "$f" 1) $(u 2 16 "$f" 1)" = "1 1 3 2" ] \
      || fail "$c: $abi hello is not a static 32-bit little-endian i386 ELF"
    # Natively where the host kernel runs i386 programs; a host booted without them
    # (ia32_emulation=0, some VM kernels: exec says "Exec format error", exit 126) runs it
    # under qemu-i386 instead.
    how=natively rc=0
    out=$("$f" 2>"$T/$tag-$abi.run") || rc=$?
    if [ "$rc" = 126 ] && grep -q "Exec format error" "$T/$tag-$abi.run"; then
      command -v qemu-i386 >/dev/null || fail "$c: this host runs no i386 programs and has no qemu-i386 (qemu-user)"
      how="under qemu-i386 (this host's kernel runs no i386 programs)" rc=0
      out=$(qemu-i386 "$f" 2>"$T/$tag-$abi.run") || rc=$?
    fi
    [ "$rc" = 0 ] || fail "$c: the $abi hello does not run $how: exit $rc $(cat "$T/$tag-$abi.run")"
    [ "$out" = "hello 6.250" ] || fail "$c: the $abi hello printed '$out'"
    ok "$c: compat $abi: ${cc}gcc -static gives an i386 ELF that runs $how"
  done < <(jq -r '.compat[] | "\(.abi) \(.cross_compile)"' "$T/$tag.json")
done
echo "cells_libc: $CHECKS checks passed"
