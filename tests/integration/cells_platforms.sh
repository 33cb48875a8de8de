#!/usr/bin/env bash
# One Debian cell (k6/mipsel) built for linux/amd64 and linux/arm64 from the committed lock
# (its hosts.arm64 pins): the layout tag is an OCI image index with one manifest per platform
# (skopeo inspect --raw), the arm64 entry runs in podman under qemu-user binfmt (`kbuild
# info`, a static cross-compile with the cell's gcc), a rebuild gives the same digests, and the
# amd64 entry is the image a plain `ksimg build` makes. In docker-registry: an SBOM referrer per
# platform, `ksimg verify` of the index and of one entry. Bad input (another platform, a cell
# without an arm64 toolchain, a lock without arm64 pins): exit 2, one line, no tag written.
# Reuses cells_build's download and layer cache; builds build/kbuild-arm64 when it is missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools mmdebstrap podman skopeo gpgv jq file /usr/bin/docker-registry
[ "$(uname -m)" = x86_64 ] || skip "this test builds the arm64 image under emulation on an x86_64 host"
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
  skip "no qemu-aarch64 binfmt handler (install qemu-user-static binfmt-support; update-binfmts --enable qemu-aarch64)"
command -v arch-test >/dev/null || skip "arch-test is not installed (mmdebstrap needs it for arm64; scripts/install-deps)"
need_debian trixie
KB=${KSIMG_BUILD_DIR:?}/kbuild-arm64
if [ ! -f "$KB" ] || [ ! -x "$KB" ]; then
  command -v aarch64-linux-gnu-g++ >/dev/null || skip "no $KB and no aarch64-linux-gnu-g++ to build it"
  cmake --build "$KSIMG_BUILD_DIR" --target kbuild-arm64 >/dev/null || fail "cmake --build --target kbuild-arm64"
fi
export KSIMG_KBUILD_ARM64=$KB
run_dir cells_platforms
cd "$T"
shared_layer_cache
podman_storage
cp "$KSIMG_SRC/ksimg.lock.json" lock.json
L="$T/oci"
B=("$KSIMG" -q build --lock lock.json --layout "$L")

# --- Bad input first: nothing is built, nothing tagged.
expect2() {  # expect2 NEEDLE ARGS...: exit 2, one stderr line holding NEEDLE, no tag in the layout
  local needle=$1 rc=0
  shift
  "${B[@]}" "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qF -- "$needle" err.txt ||
    fail "$*: exit $rc, want 2 and one line with '$needle': $(cat err.txt)"
  [ ! -s out.txt ] || fail "$*: printed a result"
  [ ! -e "$L/index.json" ] || [ "$(jq '.manifests | length' "$L/index.json")" = 0 ] || fail "$*: tagged something"
}
expect2 "unsupported platform 'linux/riscv64'" --cell k6/mipsel --platform linux/amd64,linux/riscv64
expect2 "cell k6/powerpc64 has no linux/arm64 image (recipe debian-trixie-gcc13-powerpc64: trixie builds" \
  --cell k6/powerpc64 --platform linux/amd64,linux/arm64
expect2 "Bootlin's SDKs are built for x86_64 hosts only" --cell k3/mipsel --platform linux/arm64
jq 'del(.recipes["debian-trixie-gcc13-mipsel"].hosts)' lock.json >nohosts.json
B2=("$KSIMG" -q build --lock nohosts.json --layout "$L")
rc=0
"${B2[@]}" --cell k6/mipsel --platform linux/amd64,linux/arm64 >out.txt 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -qF "nohosts.json has no arm64 pins for debian-trixie-gcc13-mipsel" err.txt ||
  fail "a lock without arm64 pins: exit $rc: $(cat err.txt)"
ok "bad platforms, an amd64-only cell, a lock without arm64 pins: exit 2, one line, nothing tagged"

# --- Both platforms, smoke-checked in podman (the arm64 one under qemu-user).
"${B[@]}" --cell k6/mipsel --platform linux/amd64,linux/arm64 --json >build.json 2>build.err ||
  { tail -20 build.err; fail "ksimg build --platform linux/amd64,linux/arm64"; }
idx=$(jq -r '.[0].index' build.json)
[ "$(tag_digest "$L" k6-mipsel)" = "$idx" ] || fail "the tag is not the index $idx"
jq -e '[.[0].manifests[].smoke.machine] == ["MIPS R3000", "MIPS R3000"]' build.json >/dev/null ||
  fail "smoke results: $(jq -c '.[0].manifests' build.json)"
skopeo inspect --raw "oci:$L:k6-mipsel" >raw.json || fail "skopeo inspect --raw"
jq -e '.mediaType == "application/vnd.oci.image.index.v1+json" and
       ([.manifests[].platform.architecture] == ["amd64", "arm64"])' raw.json >/dev/null ||
  fail "not a two-platform index: $(cat raw.json)"
layout_ok "$L" || fail "image check: $(cat "$T/check.out")"
ok "k6-mipsel is an index of linux/amd64 + linux/arm64 (skopeo inspect --raw), both smoke-checked, layout checks"

arm=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' raw.json)
cfg=$(jq -r '.config.digest' "$L/blobs/sha256/${arm#sha256:}")
jq -e '.architecture == "arm64"' "$L/blobs/sha256/${cfg#sha256:}" >/dev/null || fail "arm64 entry's config"
name=$("$KSIMG" -q load --cell k6/mipsel --platform linux/arm64 --layout "$L")
P=(podman run --rm --platform linux/arm64 --network=none "$name")
[ "$("${P[@]}" uname -m)" = aarch64 ] || fail "the arm64 entry does not run as aarch64"
"${P[@]}" kbuild info >info.txt 2>&1 || { cat info.txt; fail "kbuild info in the arm64 image"; }
grep -q "k6/mipsel" info.txt || fail "kbuild info: $(cat info.txt)"
"${P[@]}" kbuild info --json | jq -e '.host == "linux/arm64"' >/dev/null || fail "kbuild info --json: host is not linux/arm64"
"${P[@]}" sh -c 'file -L /usr/local/bin/kbuild' | grep -q "ARM aarch64" || fail "kbuild is not the arm64 launcher"
"${P[@]}" sh -c 'file -L "$(command -v ${CROSS_COMPILE}gcc)"' | grep -q "ARM aarch64" ||
  fail "the cell's gcc is not an arm64 program"
"${P[@]}" sh -c 'cd /tmp && printf "int main(void){return 0;}\n" >h.c && ${CROSS_COMPILE}gcc -static -O2 h.c -o h &&
  file h' >hello.txt 2>&1 || { cat hello.txt; fail "cross-compile in the arm64 image"; }
grep -q "ELF 32-bit LSB executable, MIPS" hello.txt || fail "hello: $(cat hello.txt)"
ok "podman run --platform linux/arm64: uname -m aarch64, kbuild info, an arm64 gcc cross-compiles a static MIPS hello"

# --- The same compiler on both hosts makes the same code: the userland init (the C file the
# initramfs target compiles) built to an object file by each platform's gcc, byte for byte.
# (A whole kernel compared this way takes hours under qemu-user: scripts/compare-platforms.)
CC_O=(sh -c 'cd /tmp && ${CROSS_COMPILE}gcc -O2 -c -DKSIMG_CELL=\"k6/mipsel\" -DKSIMG_BITS=32 \
  -DKSIMG_ENDIAN=\"little\" -DKSIMG_MACHINE=\"mips\" /u/init.c -o init.o && sha256sum init.o')
"${P[@]:0:6}" -v "$KSIMG_SRC/userland:/u:ro" "$name" "${CC_O[@]}" >obj-arm64.txt 2>obj.err ||
  { cat obj.err; fail "init.c -c in the arm64 image"; }
amd_name=$("$KSIMG" -q load --cell k6/mipsel --platform linux/amd64 --layout "$L")
podman run --rm --platform linux/amd64 --network=none -v "$KSIMG_SRC/userland:/u:ro" "$amd_name" "${CC_O[@]}" \
  >obj-amd64.txt 2>obj.err || { cat obj.err; fail "init.c -c in the amd64 image"; }
o_arm=$(head -c 64 obj-arm64.txt) o_amd=$(head -c 64 obj-amd64.txt)
[ "${#o_arm}" = 64 ] && [ "$o_arm" = "$o_amd" ] ||
  fail "init.o differs between the platforms' gcc: arm64 ${o_arm:-none}, amd64 ${o_amd:-none}"
ok "init.c compiled by the arm64-hosted and the amd64-hosted gcc: the same object file (${o_arm:0:12}...)"

# --- Reproducible: the same digests again; the amd64 entry is what a plain build makes.
"${B[@]}" --cell k6/mipsel --platform linux/amd64,linux/arm64 --no-smoke --json >again.json 2>again.err ||
  { tail -5 again.err; fail "rebuild"; }
[ "$(jq -c '[.[0].index, .[0].manifests[].manifest]' again.json)" = \
  "$(jq -c '[.[0].index, .[0].manifests[].manifest]' build.json)" ] || fail "a rebuild gives other digests"
amd=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' raw.json)
plain=$("$KSIMG" -q build --lock lock.json --layout "$T/plain" --cell k6/mipsel --no-smoke | awk '{print $2}')
[ "$plain" = "$amd" ] || fail "the index's amd64 entry $amd is not the plain build's $plain"
ok "rebuild: same index and manifests; the amd64 entry equals 'ksimg build' without --platform"

# --- ksimg check of an index smoke-checks every entry, or the one --platform names.
"$KSIMG" check --cell k6/mipsel --layout "$L" >check.out 2>check.err || { cat check.err; fail "ksimg check of the index"; }
grep -q "k6-mipsel (linux/amd64): smoke check passed" check.err && grep -q "k6-mipsel (linux/arm64): smoke check passed" check.err ||
  fail "ksimg check did not check both entries: $(cat check.err)"
"$KSIMG" check --cell k6/mipsel --layout "$L" --platform linux/arm64 >check.out 2>check.err || fail "check --platform"
[ "$(grep -c "smoke check passed" check.err)" = 1 ] && grep -q "(linux/arm64): smoke check passed" check.err ||
  fail "check --platform linux/arm64: $(cat check.err)"
ok "ksimg check: both entries of the index; --platform linux/arm64 only that one"

# --- In a registry: push the index (one SBOM referrer per platform manifest, each listing that
# platform's packages), `ksimg sbom REF --platform`, `ksimg verify` of the whole index (both
# platforms rebuilt, the index too) and of one entry.
port=$(start_registry "$T/reg")
R=127.0.0.1:$port/ci/kernelsmith:k6-mipsel
"$KSIMG" -q push --tag k6-mipsel --layout "$L" --lock lock.json --to "127.0.0.1:$port/ci" \
  --images-lock "$T/images.lock.json" --json >push.json 2>push.err || { cat push.err; fail "push of the index"; }
jq -e '.[0].sbom | keys == ["linux/amd64", "linux/arm64"]' push.json >/dev/null || fail "push's SBOMs: $(jq -c '.[0].sbom' push.json)"
for p in amd64 arm64; do
  "$KSIMG" -q sbom "$R" --platform "linux/$p" >"sbom-$p.json" 2>sbom.err || { cat sbom.err; fail "sbom $R --platform linux/$p"; }
  d=$(jq -r --arg a "$p" '.manifests[] | select(.platform.architecture == $a) | .digest' raw.json)
  jq -e --arg a "$p" --arg d "$d" '(.metadata.component.purl | contains($d | sub(":"; "%3A"))) and
    ([.components[] | select(.purl != null) | .purl | test("arch=(" + $a + "|all)&")] | all) and
    ([.components[] | select(.name == "gcc-13-mipsel-linux-gnu")] | length == 1)' "sbom-$p.json" >/dev/null ||
    fail "the linux/$p SBOM does not describe its manifest $d: $(jq -c .metadata.component "sbom-$p.json")"
done
"$KSIMG" -q verify "$R" --lock lock.json >verify.out 2>verify.err || { cat verify.err; fail "verify of the index"; }
grep -q "verified: rebuilt from the lock, same digest (index of linux/amd64, linux/arm64)" verify.out ||
  fail "verify: $(cat verify.out)"
"$KSIMG" -q verify "$R" --lock lock.json --platform linux/arm64 >verify.out 2>verify.err ||
  { cat verify.err; fail "verify --platform linux/arm64"; }
grep -qF "$arm verified" verify.out || fail "verify --platform linux/arm64: $(cat verify.out)"
ok "push: an SBOM referrer per platform (its own packages), found with sbom --platform; verify rebuilds the index, --platform one entry"

# --- --all --platform: a cell whose toolchain has no arm64 build gets its amd64 entry and a
# warning instead of stopping the run. A data dir with two supported cells stands for the matrix.
D="$T/data"
mkdir -p "$D"
cp -r "$KSIMG_SRC"/{matrix,recipes,layers,userland} "$D/"
jq '.cells |= with_entries(if .key == "k6/mipsel" or .key == "k6/powerpc64" then .
      else .value = {"unsupported": "left out by this test"} end)' "$KSIMG_SRC/matrix/cells.json" >"$D/matrix/cells.json"
jq '.exceptions = []' "$KSIMG_SRC/matrix/exceptions.json" >"$D/matrix/exceptions.json"
"$KSIMG" --data-dir "$D" -q build --lock lock.json --layout "$T/all" --all --platform linux/amd64,linux/arm64 \
  --no-smoke --json >all.json 2>all.err || { tail -5 all.err; fail "build --all --platform"; }
jq -e 'length == 2 and ([.[] | [.cell, [.manifests[].platform]]] ==
  [["k6/mipsel", ["linux/amd64", "linux/arm64"]], ["k6/powerpc64", ["linux/amd64"]]]) and
  (.[1].skipped[0].platform == "linux/arm64") and (.[1].skipped[0].reason | test("trixie"))' all.json >/dev/null ||
  fail "build --all --platform: $(jq -c '[.[] | {cell, skipped, p: [.manifests[].platform]}]' all.json)"
grep -q "warning: k6/powerpc64: linux/arm64 skipped: recipe debian-trixie-gcc13-powerpc64" all.err ||
  fail "no warning for the skipped platform: $(cat all.err)"
skopeo inspect --raw "oci:$T/all:k6-powerpc64" | jq -e '[.manifests[].platform.architecture] == ["amd64"]' >/dev/null ||
  fail "k6-powerpc64 is not an amd64-only index"
ok "build --all --platform linux/amd64,linux/arm64: k6/powerpc64 gets linux/amd64 and a warning, k6/mipsel both"
echo "PASS: $CHECKS checks"
