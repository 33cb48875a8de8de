#!/usr/bin/env bash
# SBOMs of cell images: `ksimg sbom --cell C` for a Debian cell (k4/mipsel: base packages from
# trixie, the toolchain's from bullseye, each purl naming its own suite), a tarball cell and a
# script cell, each validated against CycloneDX 1.5's own JSON schema by the validator of npm's
# @cyclonedx/cyclonedx-library (installed here with npm into KSIMG_NPM_DIR, default
# ~/.cache/ksimg/npm); then `ksimg push` sends the SBOM along as an OCI 1.1 referrer of the image
# to the real docker-registry (no referrers API: the `sha256-<hex>` tag schema), and
# `ksimg sbom REG/NS/kernelsmith:TAG` finds it back, byte for byte; then the same through
# ksimg_registry_proxy --referrers, which adds the referrers API (OCI-Subject, GET .../referrers/). Skips (77) without node/npm or
# when npm cannot install the validator.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
for tool in node npm; do command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }; done
scratch sbom
LOCK="$KSIMG_SRC/ksimg.lock.json"

NPMDIR=${KSIMG_NPM_DIR:-$HOME/.cache/ksimg/npm}
if [ ! -d "$NPMDIR/node_modules/@cyclonedx/cyclonedx-library" ]; then
  mkdir -p "$NPMDIR"
  (cd "$NPMDIR" && npm install --no-audit --no-fund --silent @cyclonedx/cyclonedx-library@10 ajv@8 ajv-formats@3 \
    ajv-formats-draft2019@1) >"$T/npm.log" 2>&1 || { echo "SKIP: npm install of the CycloneDX validator failed: $(tail -3 "$T/npm.log")"; exit 77; }
fi
validate() { NODE_PATH="$NPMDIR/node_modules" node "$HERE/sbom/validate.js" "$1" >"$1.check" || fail "$1 is not valid CycloneDX 1.5: $(head -c 2000 "$1.check")"; }

echo "== ksimg sbom --cell: a Debian cell"
"$KSIMG" -q sbom --cell k4/mipsel --lock "$LOCK" --layout "$T/none" >k4.json
validate k4.json
ok "k4/mipsel's SBOM is valid CycloneDX 1.5 (the library's validator)"
nbase=$(jq '.recipes.base.packages | length' "$LOCK")
ntc=$(jq '.recipes["debian-bullseye-gcc10-mipsel"].packages | length' "$LOCK")
[ "$(jq '.components | length' k4.json)" = $((nbase + ntc + 1)) ] || fail "components: $(jq '.components | length' k4.json), want $nbase + $ntc + 1"
gcc_purl=$(jq -r '.components[] | select(.name == "gcc-10-mipsel-linux-gnu") | .purl' k4.json)
[[ "$gcc_purl" == "pkg:deb/debian/gcc-10-mipsel-linux-gnu@10.2.1-6cross1?arch=amd64&distro=debian-11" ]] || fail "gcc purl: $gcc_purl"
jq -e '[.components[] | select(.properties[] | select(.name == "ksimg:layer" and .value == "toolchain")) | .purl | test("distro=debian-11$")] | all' k4.json >/dev/null || fail "a toolchain package is not bullseye's"
jq -e '[.components[] | select(.properties[] | select(.name == "ksimg:layer" and .value == "base")) | .purl | test("distro=debian-13$")] | all' k4.json >/dev/null || fail "a base package is not trixie's"
want=$(jq -r '.recipes["debian-bullseye-gcc10-mipsel"].packages[] | select(.name == "gcc-10-mipsel-linux-gnu") | .sha256' "$LOCK")
[ "$(jq -r '.components[] | select(.name == "gcc-10-mipsel-linux-gnu") | .hashes[0].content' k4.json)" = "$want" ] || fail "gcc's hash"
jq -e '.metadata.component.version == "k4-mipsel" and (.dependencies[0].dependsOn | length) == (.components | length)
       and (.serialNumber | test("^urn:uuid:[0-9a-f-]{36}$"))' k4.json >/dev/null || fail "metadata: $(jq -c .metadata k4.json)"
"$KSIMG" -q sbom --cell k4/mipsel --lock "$LOCK" --layout "$T/none" | cmp -s - k4.json || fail "the SBOM is not reproducible"
ok "purls name each package's own suite (toolchain debian-11, base debian-13), hashes from the lock; reproducible bytes"

echo "== tarball and script cells"
for cell in k3/mipsel k2.6/mipsel; do
  name=${cell//\//-}
  "$KSIMG" -q sbom --cell "$cell" --lock "$LOCK" --layout "$T/none" >"$name.json" 2>"$name.err" || { cat "$name.err"; fail "sbom --cell $cell"; }
  validate "$name.json"
  jq -e '[.components[] | select(.properties[] | select(.name == "ksimg:layer" and .value == "toolchain"))] | length >= 1' \
    "$name.json" >/dev/null || fail "$cell has no toolchain component"
done
ok "k3/mipsel (tarball) and k2.6/mipsel (script) SBOMs are valid, with their toolchain components"
expect 2 "give an image REF or --cell" "$KSIMG" sbom

echo "== pushed as a referrer, found back (docker-registry: the sha256-<hex> tag schema)"
make_images "$T/oci"
"$KSIMG" -q image build --layer "$T/trees/base" --layer "$T/trees/tool1" --tag k4-mipsel --layout "$T/oci" --cmd true >/dev/null
REG=$(start_registry "$T/reg")
D=$(tag_digest "$T/oci" k4-mipsel)
out=$("$KSIMG" -q push --tag k4-mipsel --to "127.0.0.1:$REG/ns" --layout "$T/oci" --lock "$LOCK" --json --images-lock "$T/il.json")
S=$(jq -r '.[0].sbom' <<<"$out")
[[ "$S" == sha256:* ]] || fail "push --json names no SBOM: $out"
idx=$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "http://127.0.0.1:$REG/v2/ns/kernelsmith/manifests/sha256-${D#sha256:}") ||
  fail "no referrers tag sha256-${D#sha256:}"
jq -e --arg s "$S" '.manifests | any(.digest == $s and .artifactType == "application/vnd.cyclonedx+json")' <<<"$idx" >/dev/null || fail "index: $idx"
art=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$REG/v2/ns/kernelsmith/manifests/$S")
jq -e --arg d "$D" '.subject.digest == $d and .artifactType == "application/vnd.cyclonedx+json" and .config.mediaType == "application/vnd.oci.empty.v1+json"' <<<"$art" >/dev/null ||
  fail "artifact manifest: $art"
ok "push: the SBOM is an artifact whose subject is $D, listed by the sha256-<hex> index"
"$KSIMG" -q sbom "127.0.0.1:$REG/ns/kernelsmith:k4-mipsel" >found.json
"$KSIMG" -q sbom --cell k4/mipsel --lock "$LOCK" --layout "$T/oci" >local.json
cmp -s found.json local.json || fail "the SBOM found in the registry differs from the local one"
jq -e --arg d "${D#sha256:}" '.metadata.component.purl | contains($d)' found.json >/dev/null || fail "the SBOM does not name the image digest"
validate found.json
ok "ksimg sbom REG/ns/kernelsmith:k4-mipsel finds it back, identical, naming the image digest"
"$KSIMG" -q push --tag k4-mipsel --to "127.0.0.1:$REG/ns" --layout "$T/oci" --lock "$LOCK" --images-lock "$T/il.json" >/dev/null
[ "$(curl -sf -H 'Accept: application/vnd.oci.image.index.v1+json' "http://127.0.0.1:$REG/v2/ns/kernelsmith/manifests/sha256-${D#sha256:}" | jq '.manifests | length')" = 1 ] ||
  fail "a second push listed the same SBOM twice"
ok "pushing again keeps one entry"
"$KSIMG" -q push --tag img2 --to "127.0.0.1:$REG/ns" --layout "$T/oci" --lock "$LOCK" --images-lock "$T/il.json" >/dev/null
expect 1 "no CycloneDX SBOM refers to" "$KSIMG" sbom "127.0.0.1:$REG/ns/kernelsmith:img2"
expect 2 "has no manifest nosuch" "$KSIMG" sbom "127.0.0.1:$REG/ns/kernelsmith:nosuch"
ok "an image without an SBOM exits 1, a missing image 2, each naming it"

echo "== a registry with the referrers API (the proxy adds it, as Harbor >= 2.8 has it)"
PX=$(start_proxy "$REG" "$T/proxy.log" --referrers)
"$KSIMG" push --tag k4-mipsel --to "127.0.0.1:$PX/api" --layout "$T/oci" --lock "$LOCK" --images-lock "$T/il4.json" \
  >/dev/null 2>push-api.err
grep -q "refers to it (referrers API)" push-api.err || fail "push did not use the referrers API: $(cat push-api.err)"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$REG/v2/api/kernelsmith/manifests/sha256-${D#sha256:}")" = 404 ] ||
  fail "a sha256-<hex> tag was written although the registry has the referrers API"
"$KSIMG" sbom "127.0.0.1:$PX/api/kernelsmith:k4-mipsel" >found-api.json 2>sbom-api.err
grep -q "found by the referrers API" sbom-api.err || fail "sbom did not use the referrers API: $(cat sbom-api.err)"
cmp -s found-api.json local.json || fail "the SBOM found through the referrers API differs"
ok "with the referrers API: OCI-Subject seen, no tag schema written, found back through GET .../referrers/<digest>"
echo "PASS: $CHECKS checks"
