#!/usr/bin/env bash
# kbuild's default targets (vmlinux, image, modules, dtbs) and headers on every arch, in
# seconds: the static kbuild runs on the host against a stand-in kernel tree whose `make`
# (tests/data/fake-kbuild/make) compiles nothing and, like the real one on an arch whose config
# selects no device tree, leaves no arch/ARCH/boot/dts in the build dir. Every target's
# collection step must then report 0 device trees / 0 modules, never fail; an ARM build with a
# 6.5-style vendor subdirectory keeps it under OUT/dtbs; and a collection step that fails for a
# reason kbuild did not expect names the step and the path, says it is a bug, and metadata.json
# records the failed step, with no raw library text.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
: "${KSIMG_BUILD_DIR:?}"
need_tools jq
KBUILD=$KSIMG_BUILD_DIR/kbuild
[ -x "$KBUILD" ] || fail "no kbuild at $KBUILD (scripts/build builds it)"
scratch kbuild_targets
fakes=$KSIMG_SRC/tests/data/fake-kbuild

# tree VERSION ARCH: a stand-in tree with the arch's dts dir (so kbuild runs `make dtbs`)
tree() {
  local d=$T/src-$1-$2
  mkdir -p "$d/arch/$2/boot/dts"
  printf 'VERSION = %s\nPATCHLEVEL = %s\nSUBLEVEL = %s\n' $(echo "$1" | tr . ' ') >"$d/Makefile"
  echo "$d"
}

# build ARCH VERSION OUT [kbuild args...]: runs kbuild as the image of the cell that builds
# VERSION for ARCH would, with the fakes first on PATH
build() {
  local arch=$1 v=$2 out=$3 json karch bin
  shift 3
  json=$("$KSIMG" resolve "$v" --arch "$arch" --json)
  karch=$(jq -r --arg a "$arch" '.arches[$a].kernel_arch' "$KSIMG_SRC/matrix/arches.json")
  bin=$T/bin-$arch
  mkdir -p "$bin"
  ln -sf "$fakes/make" "$bin/make"
  ln -sf "$fakes/cross-gcc" "$bin/$(jq -r .toolchain.cross_compile <<<"$json")gcc"
  KSIMG_ERA=$(jq -r .era <<<"$json") KSIMG_ARCH=$arch KSIMG_RECIPE=$(jq -r .toolchain.recipe <<<"$json") \
    FAKE_ELF_CLASS=$(jq -r --arg a "$arch" 'if .arches[$a].bits == 64 then 2 else 1 end' "$KSIMG_SRC/matrix/arches.json") \
    FAKE_ELF_DATA=$(jq -r --arg a "$arch" 'if .arches[$a].endian == "big" then 2 else 1 end' "$KSIMG_SRC/matrix/arches.json") \
    PATH="$bin:$PATH" "$KBUILD" "$v" --source "$(tree "$v" "$karch")" -o "$out" -j1 "$@" >"$out.log" 2>&1
}

# Every arch, k4 and k6: the default targets plus headers succeed, dtbs and modules count 0.
for era_v in 5.10.223 6.12.107; do
  for arch in $(jq -r '.arches | keys[]' "$KSIMG_SRC/matrix/arches.json"); do
    "$KSIMG" resolve "$era_v" --arch "$arch" --json >/dev/null 2>&1 || continue  # no cell for it
    out=$T/out-$arch-$era_v
    build "$arch" "$era_v" "$out" --defconfig tinyconfig --targets vmlinux,image,modules,dtbs,headers \
      || fail "$arch $era_v: kbuild failed: $(tail -3 "$out.log")"
    if grep -q "filesystem error" "$out.log"; then fail "$arch $era_v: raw library text: $(grep 'filesystem error' "$out.log")"; fi
    m=$out/metadata.json
    [ "$(jq -r .status "$m")" = succeeded ] || fail "$arch $era_v: status $(jq -r .status "$m")"
    [ "$(jq -r .targets.dtbs.status "$m")" = ok ] || fail "$arch $era_v: dtbs $(jq -c .targets.dtbs "$m")"
    [ "$(jq -r .targets.dtbs.count "$m")" = 0 ] || fail "$arch $era_v: dtbs count $(jq -c .targets.dtbs "$m")"
    [ -d "$out/dtbs" ] && [ -z "$(ls -A "$out/dtbs")" ] || fail "$arch $era_v: OUT/dtbs is not an empty dir"
    [ "$(jq -r .targets.modules.count "$m")" = 0 ] || fail "$arch $era_v: modules $(jq -c .targets.modules "$m")"
    [ "$(jq -r .artifacts.modules.count "$m")" = 0 ] || fail "$arch $era_v: artifacts.modules $(jq -c .artifacts.modules "$m")"
    [ "$(jq -r .targets.headers.count "$m")" -ge 1 ] || fail "$arch $era_v: headers $(jq -c .targets.headers "$m")"
    file=$(jq -r --arg a "$arch" '.arches[$a].boot_image.file | split("/") | last' "$KSIMG_SRC/matrix/arches.json")
    [ "$(jq -r --arg f "$file" '.artifacts[$f].sha256 // empty' "$m")" != "" ] || fail "$arch $era_v: no $file artifact"
    grep -q "dtbs: 0 device trees" "$out.log" || fail "$arch $era_v: the log does not say 0 device trees"
    ok "$arch $era_v: default targets + headers, 0 dtbs, 0 modules, $file"
  done
done

# ARM since 6.5: device trees in vendor subdirectories, kept as they are.
out=$T/out-armel-vendor
FAKE_DTBS="arm/versatile-pb.dtb arm/versatile-ab.dtb" build armel 6.12.107 "$out" --defconfig tinyconfig \
  || fail "armel vendor dtbs: $(tail -3 "$out.log")"
[ -f "$out/dtbs/arm/versatile-pb.dtb" ] || fail "armel: dtbs/arm/versatile-pb.dtb missing: $(find "$out/dtbs")"
[ "$(jq -r .artifacts.dtbs.count "$out/metadata.json")" = 2 ] || fail "armel: artifacts.dtbs $(jq -c .artifacts.dtbs "$out/metadata.json")"
ok "armel 6.12: 2 device trees under dtbs/arm/"

# The devel target, and --dry-run against the build: the plan lists the make goals the build
# then runs, in the same order (both come from target_steps), and the devel tree is made after
# modules_prepare.
targets=vmlinux,image,modules,dtbs,headers,devel
out=$T/out-devel
build armel 5.10.223 "$out.plan" --defconfig tinyconfig --targets "$targets" --dry-run \
  || fail "devel --dry-run: $(tail -3 "$out.plan.log")"
planned=$(sed -n '/^make (SRC/,$p' "$out.plan.log" | awk '/^  make /{for (i = 1; i < NF; i++) if ($i ~ /^-j/) print $(i + 1)}')
build armel 5.10.223 "$out" --defconfig tinyconfig --targets "$targets" || fail "devel: $(tail -3 "$out.log")"
ran=$(grep -vE 'config$' "$out/build/fake-make.log")
[ -n "$planned" ] && [ "$planned" = "$ran" ] || fail "the plan's make goals ($(echo $planned)) are not the ones run ($(echo $ran))"
grep -q "^  devel: " "$out.plan.log" || fail "the plan does not show the devel tree step: $(cat "$out.plan.log")"
[ "$(jq -r .targets.devel.status "$out/metadata.json")" = ok ] || fail "devel: $(jq -c .targets.devel "$out/metadata.json")"
[ "$(jq -r .cell "$out/devel/kbuild-devel.json")" = k4/armel ] || fail "no devel tree: $(ls "$out/devel" 2>&1)"
ok "armel 5.10: --dry-run lists the goals the build runs ($(echo $ran)); devel tree after modules_prepare"

# An unexpected failure in a collection step: OUT/dtbs.partial cannot be removed (immutable).
out=$T/out-broken
mkdir -p "$out/dtbs.partial" && touch "$out/dtbs.partial/x"
if chattr +i "$out/dtbs.partial/x" 2>/dev/null; then
  rc=0; build powerpc 5.10.223 "$out" --defconfig tinyconfig || rc=$?
  chattr -i "$out/dtbs.partial/x"
  [ "$rc" = 1 ] || fail "broken dtbs step: exit $rc, want 1: $(tail -3 "$out.log")"
  last=$(tail -1 "$out.log")
  [[ $last == "kbuild: internal error in step 'dtbs': "*"$out/dtbs.partial"*"bug in kbuild, please report it with"* ]] \
    || fail "broken dtbs step: last line is not the one-line internal error: $last"
  if grep -q "filesystem error" "$out.log"; then fail "broken dtbs step: raw library text in the output"; fi
  [ "$(jq -r .failed_step "$out/metadata.json")" = dtbs ] || fail "metadata.json failed_step: $(jq -c .failed_step "$out/metadata.json")"
  [ "$(jq -r .targets.dtbs.status "$out/metadata.json")" = failed ] || fail "metadata.json targets.dtbs not failed"
  [ "$(jq -r .status "$out/metadata.json")" = failed ] || fail "metadata.json status not failed"
  ok "an unexpected dtbs failure: one line naming the step and path, failed_step recorded"
else
  echo "note: chattr +i is not supported on $(df --output=fstype "$T" | tail -1); the internal-error case is covered by the unit test"
fi
echo "checks $CHECKS"
