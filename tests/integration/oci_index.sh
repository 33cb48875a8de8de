#!/usr/bin/env bash
# Multi-platform images (an OCI image index, one manifest per host platform): `ksimg image
# index` makes one from two stand-in images (linux/amd64, linux/arm64) with the same digest
# every time; `image check` and `inspect` follow it (the host's platform, or --platform);
# `push` sends both manifests by digest, then the index by digest, then the tag (order checked
# in ksimg_registry_proxy's log) and pins all three digests in images.lock.json; the real
# docker-registry, `skopeo inspect --raw` and `skopeo copy --all` accept it; `pull` keeps the
# index (or one platform with --platform); bad platforms are refused with exit 2 and nothing
# written.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
command -v skopeo >/dev/null || { echo "SKIP: skopeo is not installed (scripts/install-deps installs it)"; exit 77; }

T="$KSIMG_TESTS_TMP/oci_index"
rm -rf "$T" && mkdir -p "$T/trees/base/etc" "$T/trees/amd64/opt" "$T/trees/arm64/opt"
cd "$T"
export KSIMG_IMAGES_LOCK="$T/images.lock.json" SOURCE_DATE_EPOCH=1700000000
L="$T/oci"
echo base > trees/base/etc/base
head -c 200000 /dev/urandom > trees/amd64/opt/tool
head -c 150000 /dev/urandom > trees/arm64/opt/tool
for a in amd64 arm64; do
  "$KSIMG" -q image build --platform "linux/$a" --layer trees/base --layer "trees/$a" --tag "one-$a" \
    --layout "$L" --cmd true >/dev/null
done
DA=$(tag_digest "$L" one-amd64)
DR=$(tag_digest "$L" one-arm64)

echo "== image index"
DI=$("$KSIMG" -q image index --layout "$L" --tag multi --manifest one-arm64 --manifest one-amd64)
[ "$(tag_digest "$L" multi)" = "$DI" ] || fail "index.json does not tag multi as $DI"
idx="$L/blobs/sha256/${DI#sha256:}"
[ "$(jq -r .mediaType "$idx")" = application/vnd.oci.image.index.v1+json ] || fail "not an index: $(cat "$idx")"
[ "$(jq -r '[.manifests[] | .platform.architecture + "=" + .digest] | join(" ")' "$idx")" = "amd64=$DA arm64=$DR" ] ||
  fail "index entries: $(cat "$idx")"
[ "$(jq -r '.annotations["org.opencontainers.image.created"]' "$idx")" = 2023-11-14T22:13:20Z ] || fail "created"
again=$("$KSIMG" -q image index --layout "$L" --tag multi2 --manifest one-amd64 --manifest one-arm64)
[ "$again" = "$DI" ] || fail "the same images in another order gave $again, not $DI"
ok "index $DI: amd64 then arm64, the same digest whatever the --manifest order"
"$KSIMG" -q image check --layout "$L" >check.txt 2>&1 || { cat check.txt; fail "image check refused the layout"; }
ok "image check accepts the layout with an index"

echo "== inspect picks a platform"
host=$(case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; esac)
want=$([ "$host" = amd64 ] && echo "$DA" || echo "$DR")
j=$("$KSIMG" -q inspect "$L:multi" --json)
[ "$(jq -r .manifest.digest <<<"$j")" = "$want" ] || fail "inspect on $host showed $(jq -r .manifest.digest <<<"$j")"
[ "$(jq -r .index.digest <<<"$j")" = "$DI" ] && [ "$(jq '.index.manifests | length' <<<"$j")" = 2 ] || fail "index: $j"
j=$("$KSIMG" -q inspect "$L:multi" --json --platform linux/arm64)
[ "$(jq -r .manifest.digest <<<"$j") $(jq -r .platform.architecture <<<"$j")" = "$DR arm64" ] || fail "arm64: $j"
"$KSIMG" -q inspect "$L:multi" --platform linux/arm64/v8 | grep -q "^platform:  linux/arm64" || fail "arm64/v8"
ok "inspect shows the $host entry by default and --platform linux/arm64's on request"

echo "== bad input"
expect 2 "unsupported platform 'linux/s390x'" "$KSIMG" inspect "$L:multi" --platform linux/s390x
expect 2 "unsupported platform 'linux/arm64/v9'" "$KSIMG" inspect "$L:multi" --platform linux/arm64/v9
expect 2 "invalid platform 'amd64'" "$KSIMG" inspect "$L:multi" --platform amd64
"$KSIMG" -q image index --layout "$L" --tag only-amd64 --manifest one-amd64 >/dev/null
expect 2 "tag only-amd64 has no linux/arm64 image (it has linux/amd64)" \
  "$KSIMG" inspect "$L:only-amd64" --platform linux/arm64
before=$(sha256sum "$L/index.json")
expect 2 "two manifests for linux/amd64" "$KSIMG" image index --layout "$L" --tag bad --manifest one-amd64 --manifest one-amd64
expect 2 "--manifest nope: no such tag" "$KSIMG" image index --layout "$L" --tag bad --manifest one-amd64 --manifest nope
expect 2 "--manifest multi is already an index" "$KSIMG" image index --layout "$L" --tag bad --manifest multi
"$KSIMG" -q image build --platform linux/s390x --layer trees/base --tag odd --layout "$L" >/dev/null
before=$(sha256sum "$L/index.json")
expect 2 "unsupported platform 'linux/s390x'" "$KSIMG" image index --layout "$L" --tag bad --manifest one-amd64 --manifest odd
[ "$(sha256sum "$L/index.json")" = "$before" ] || fail "a refused index changed index.json"
ok "unsupported, malformed and missing platforms: exit 2, one line each, index.json untouched"

echo "== push to docker-registry"
REG=$(start_registry "$T/reg")
PX=$(start_proxy "$REG" "$T/proxy.log")
out=$("$KSIMG" push --tag multi --to "127.0.0.1:$PX/ns" --layout "$L" --json)
[ "$(jq -r '.[0].digest' <<<"$out")" = "$DI" ] || fail "pushed digest: $out"
puts=$(grep '^PUT /v2/ns/kernelsmith/manifests/' proxy.log | awk '{print $2}' | sed 's|.*/manifests/||' | tr '\n' ' ')
ordered=0
case "$puts" in "$DA $DR $DI multi "|"$DR $DA $DI multi ") ordered=1 ;; esac
[ "$ordered" = 1 ] || fail "manifest PUT order: $puts"
ok "both manifests by digest, then the index by digest, then the tag"
[ "$(jq -r '.images.multi.digest' images.lock.json)" = "$DI" ] &&
  [ "$(jq -r '.images.multi.platforms["linux/amd64"].digest' images.lock.json)" = "$DA" ] &&
  [ "$(jq -r '.images.multi.platforms["linux/arm64"].digest' images.lock.json)" = "$DR" ] ||
  fail "images.lock.json: $(cat images.lock.json)"
ok "images.lock.json pins the index and each platform's manifest"
raw=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$REG/ns/kernelsmith:multi")
[ "$(printf %s "$raw" | sha256sum | cut -d' ' -f1)" = "${DI#sha256:}" ] || fail "skopeo inspect --raw: $raw"
[ "$(skopeo inspect --tls-verify=false --override-arch arm64 "docker://127.0.0.1:$REG/ns/kernelsmith:multi" | jq -r .Architecture)" = arm64 ] ||
  fail "skopeo does not resolve --override-arch arm64"
ok "skopeo inspect --raw gives the index byte for byte; --override-arch arm64 resolves to the arm64 image"
skopeo copy -q --all --src-tls-verify=false "docker://127.0.0.1:$REG/ns/kernelsmith:multi" "oci:$T/copy:multi"
[ "$(tag_digest "$T/copy" multi)" = "$DI" ] || fail "skopeo copy --all gave $(tag_digest "$T/copy" multi)"
ok "skopeo copy --all copies the same index"

echo "== pull"
res=$("$KSIMG" pull "127.0.0.1:$REG/ns/kernelsmith:multi" --layout "$T/pulled" --json)
[ "$(tag_digest "$T/pulled" multi)" = "$DI" ] || fail "pull kept $(tag_digest "$T/pulled" multi): $res"
"$KSIMG" -q image check --layout "$T/pulled" >check.txt 2>&1 || { cat check.txt; fail "pulled layout is not sound"; }
[ "$("$KSIMG" -q inspect "$T/pulled:multi" --platform linux/arm64 --json | jq -r .manifest.digest)" = "$DR" ] ||
  fail "pulled index lacks the arm64 image"
ok "pull keeps the index with both platforms; image check accepts it"
"$KSIMG" -q pull "127.0.0.1:$REG/ns/kernelsmith:multi" --platform linux/arm64 --tag arm --layout "$T/one" >/dev/null
[ "$(tag_digest "$T/one" arm)" = "$DR" ] || fail "pull --platform linux/arm64 kept $(tag_digest "$T/one" arm)"
"$KSIMG" -q pull --locked --layout "$T/locked" >/dev/null
[ "$(tag_digest "$T/locked" multi)" = "$DI" ] || fail "pull --locked"
ok "pull --platform linux/arm64 keeps $DR; pull --locked fetches the pinned index"
expect 2 "unsupported platform 'linux/s390x'" \
  "$KSIMG" pull "127.0.0.1:$REG/ns/kernelsmith:multi" --platform linux/s390x --layout "$T/none"
[ ! -e "$T/none" ] || fail "a refused pull created the layout"
"$KSIMG" -q push --tag only-amd64 --to "127.0.0.1:$REG/ns" --layout "$L" >/dev/null
expect 2 "is an index with no linux/arm64 image" \
  "$KSIMG" pull "127.0.0.1:$REG/ns/kernelsmith:only-amd64" --platform linux/arm64 --layout "$T/none2"
ok "pull: bad or absent platform, exit 2"

echo "PASS: $CHECKS checks"
