#!/usr/bin/env bash
# End to end against the real Debian archive (host apt sources): ksimg lock, then
# ksimg build of four cells (k4/mipsel, k4/arm64, k6/powerpc64le, k6/x86_64) with the smoke
# check in podman; each image has base + toolchain + launcher layers and runs kbuild; a
# rebuild repeats the digest. Skips (77) when the archive or a tool is unavailable.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools mmdebstrap podman skopeo gpgv jq
need_debian trixie
W="$KSIMG_TESTS_TMP/cells_build"   # kept between runs of this build dir: the cache makes reruns fast
run_dir cells_build
podman_storage
mkdir -p "$W/cache"
export KSIMG_CACHE="$W/cache" KSIMG_LAYOUT="$T/oci"
cd "$T"
checks=0

"$KSIMG" lock --lock "$T/lock.json" >"$T/lock.out" || fail "ksimg lock"
jq -e '.recipes.base.packages | length > 100' "$T/lock.json" >/dev/null || fail "the lock pins no base"
checks=$((checks + 1))

cells=(k4/mipsel k4/arm64 k6/powerpc64le k6/x86_64)
args=(); for c in "${cells[@]}"; do args+=(--cell "$c"); done
"$KSIMG" build --lock "$T/lock.json" "${args[@]}" --json >"$T/build.json" 2>"$T/build.err" \
  || { tail -20 "$T/build.err" >&2; fail "ksimg build"; }
[ "$(jq length "$T/build.json")" = 4 ] || fail "want 4 images"
declare -A want_machine=([k4-mipsel]="MIPS R3000" [k4-arm64]="AArch64" [k6-powerpc64le]="PowerPC64"
                         [k6-x86_64]="Advanced Micro Devices X86-64")
for tag in k4-mipsel k4-arm64 k6-powerpc64le k6-x86_64; do
  jq -e --arg t "$tag" --arg m "${want_machine[$tag]}" \
    '.[] | select(.tag == $t) | .smoke.machine == $m and (.layers | length) == 3 and .closure.binaries > 10' \
    "$T/build.json" >/dev/null || fail "$tag: $(jq -c --arg t "$tag" '.[] | select(.tag == $t)' "$T/build.json")"
  "$KSIMG" inspect "$T/oci:$tag" --json >"$T/inspect.json"
  jq -e --arg t "$tag" '(.layers | length) == 3 and (.env | index("KSIMG_ERA=" + ($t | split("-")[0])) != null)
        and (.cmd == ["kbuild", "--help"]) and .labels["org.kernelsmith.cell"] == ($t | sub("-"; "/"))' \
    "$T/inspect.json" >/dev/null || fail "$tag: config $(jq -c '{env, cmd, labels}' "$T/inspect.json")"
  podman run --rm "localhost/kernelsmith:$tag" kbuild info >"$T/info" || fail "$tag: kbuild info"
  grep -q "^cell  *${tag/-//}" "$T/info" || fail "$tag: kbuild info says $(cat "$T/info")"
  checks=$((checks + 3))
done
# The base layer is shared: one blob for all four images.
[ "$(jq -r '.[].layers.base' "$T/build.json" | sort -u | wc -l)" = 1 ] || fail "the base layer differs between cells"
# powerpc64le: ELFv2 little-endian 64-bit; the smoke output says so.
jq -e '.[] | select(.tag == "k6-powerpc64le") | .smoke.data | test("little endian")' "$T/build.json" >/dev/null || fail "ppc64le endian"
checks=$((checks + 2))

# A rebuild into a fresh layout gives the same digests (layers cached or rebuilt identically).
KSIMG_LAYOUT="$T/oci2" "$KSIMG" build --lock "$T/lock.json" --cell k4/mipsel --no-smoke >"$T/rebuild" 2>/dev/null || fail "rebuild"
first=$(jq -r '.[] | select(.tag == "k4-mipsel") | .manifest' "$T/build.json")
grep -q "^k4-mipsel $first\$" "$T/rebuild" || fail "rebuild digest $(cat "$T/rebuild") != $first"
checks=$((checks + 1))

# Bad input: unknown cell and unsupported cell are usage errors; a missing lock says what to run.
rc=0; "$KSIMG" build --lock "$T/lock.json" --cell k4/sparc 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "unknown cell 'k4/sparc'" "$T/err" || fail "unknown cell: $rc $(cat "$T/err")"
rc=0; "$KSIMG" build --lock "$T/lock.json" --cell k2.6/arm64 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "unsupported" "$T/err" || fail "unsupported cell: $rc $(cat "$T/err")"
rc=0; "$KSIMG" build --lock "$T/nolock.json" --cell k4/mipsel 2>"$T/err" || rc=$?
[ "$rc" = 2 ] && grep -q "ksimg lock" "$T/err" || fail "no lock: $rc $(cat "$T/err")"
checks=$((checks + 3))
echo "cells_build: $checks checks passed"
