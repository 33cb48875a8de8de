#!/usr/bin/env bash
# `ksimg push` and `ksimg pull` against the real Debian docker-registry on 127.0.0.1: what
# ksimg pushes is accepted by skopeo and podman, what skopeo pushes is pulled by ksimg, a
# second push sends 0 blob bytes (counted by ksimg_registry_proxy), a second image skips the
# shared base layer, another repository mounts it, the images lock pins every push and
# `pull --locked` verifies them; chunked uploads honour OCI-Chunk-Min-Length, a registry with
# relative Location headers works, and (when built) a real cell image goes up and comes back.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"

scratch registry_push
export KSIMG_IMAGES_LOCK="$T/images.lock.json"
L="$T/oci"
make_images "$L"
REG=$(start_registry "$T/reg")
PX=$(start_proxy "$REG" "$T/proxy.log")
D1=$(tag_digest "$L" img1)
D2=$(tag_digest "$L" img2)

echo "== push img1 through the counting proxy"
out=$("$KSIMG" push --tag img1 --to "127.0.0.1:$PX/ns" --layout "$L" --json)
[ "$(jq -r '.[0].digest' <<<"$out")" = "$D1" ] || fail "pushed digest differs from the layout's"
[ "$(jq -r '.[0].reference' <<<"$out")" = "127.0.0.1:$PX/ns/kernelsmith:img1@$D1" ] || fail "reference: $out"
[ "$(jq -r '[.[0].blobs[].action] | unique | join(",")' <<<"$out")" = "uploaded" ] || fail "first push: $out"
sent=$(jq '.[0].bytes_sent' <<<"$out")
[ "$sent" -gt 1000000 ] && [ "$(uploaded_bytes proxy.log)" = "$sent" ] || fail "bytes_sent $sent vs proxy $(uploaded_bytes proxy.log)"
ok "first push uploads every blob ($sent bytes, as the proxy counted)"
[ "$(jq -r '.images.img1.digest' images.lock.json)" = "$D1" ] || fail "images.lock.json: $(cat images.lock.json)"
[ "$(jq -r '.schema_version' images.lock.json)" = 1 ] || fail "schema_version"
ok "images.lock.json pins img1"
grep -q "^HEAD /v2/ns/kernelsmith/blobs/$D1" proxy.log && fail "manifest digest HEADed as a blob?"
first_manifest=$(grep -n '^PUT /v2/ns/kernelsmith/manifests/' proxy.log | head -1)
[[ "$first_manifest" == *"manifests/$D1 "* ]] || fail "the manifest was not PUT by digest first: $first_manifest"
last_blob_line=$(grep -n 'blobs/uploads/' proxy.log | tail -1 | cut -d: -f1)
[ "${first_manifest%%:*}" -gt "$last_blob_line" ] || fail "a blob upload came after the manifest"
ok "blobs first, then the manifest by digest, then the tag"

echo "== skopeo and podman accept it"
if command -v skopeo >/dev/null; then
  [ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REG/ns/kernelsmith:img1" | jq -r .Digest)" = "$D1" ] ||
    fail "skopeo inspect sees another digest"
  ok "skopeo inspect sees $D1"
else
  echo "(skopeo missing: skipped)"
fi
if command -v podman >/dev/null; then
  podman_storage vfs
  printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$REG" > "$T/registries.conf"
  export CONTAINERS_REGISTRIES_CONF="$T/registries.conf"
  podman pull -q "127.0.0.1:$REG/ns/kernelsmith:img1" >/dev/null || fail "podman pull refused the image"
  [ "$(podman image inspect --format '{{.Digest}}' "127.0.0.1:$REG/ns/kernelsmith:img1")" = "$D1" ] ||
    fail "podman sees another digest"
  podman rmi -a -f >/dev/null 2>&1 || true
  ok "podman pull accepts it with digest $D1"
fi

echo "== a second push sends no blob bytes"
: > proxy.log
out=$("$KSIMG" push --tag img1 --to "127.0.0.1:$PX/ns" --layout "$L" --json)
[ "$(jq -r '[.[0].blobs[].action] | unique | join(",")' <<<"$out")" = "skipped" ] || fail "re-push: $out"
[ "$(jq '.[0].bytes_sent' <<<"$out")" = 0 ] || fail "re-push bytes_sent"
[ "$(uploaded_bytes proxy.log)" = 0 ] || fail "the proxy saw $(uploaded_bytes proxy.log) upload bytes"
grep -q 'blobs/uploads/' proxy.log && fail "an upload session was opened on a no-op push"
grep -q '^PUT ' proxy.log && fail "a no-op push PUT something: $(grep '^PUT ' proxy.log)"
ok "no-op re-push: 0 blob bytes, no upload session, no manifest PUT (proxy log)"

echo "== img2 shares the base layer: skipped in the same repository"
: > proxy.log
out=$("$KSIMG" push --tag img2 --to "127.0.0.1:$PX/ns" --layout "$L" --json)
[ "$(jq '[.[0].blobs[] | select(.action=="skipped")] | length' <<<"$out")" = 1 ] || fail "img2: $out"
[ "$(uploaded_bytes proxy.log)" -lt 500000 ] || fail "img2 sent the base layer again"
ok "img2 skips the shared base layer ($(uploaded_bytes proxy.log) bytes sent)"

echo "== another repository mounts the blobs"
: > proxy.log
out=$("$KSIMG" push --tag img1 --to "127.0.0.1:$PX/other" --layout "$L" --json)
[ "$(jq -r '[.[0].blobs[].action] | unique | join(",")' <<<"$out")" = "mounted" ] || fail "mount: $out"
[ "$(jq -r '.[0].blobs[0].from' <<<"$out")" = "ns/kernelsmith" ] || fail "mounted from: $out"
grep -q 'mount=sha256' proxy.log || fail "no mount request in the proxy log"
[ "$(uploaded_bytes proxy.log)" = 0 ] || fail "a mount sent bytes"
ok "other/kernelsmith mounts every blob from ns/kernelsmith, 0 bytes sent"
[ "$(jq -r '.images.img1.reference' images.lock.json)" = "127.0.0.1:$PX/other/kernelsmith:img1@$D1" ] ||
  fail "the lock was not updated by the last push"
[ "$(jq -r '.images.img2.digest' images.lock.json)" = "$D2" ] || fail "the lock lost img2"
ok "the lock merges pushes"

echo "== chunked upload honours OCI-Chunk-Min-Length"
PC=$(start_proxy "$REG" "$T/chunk.log" --chunk-min 400000)
"$KSIMG" -q push --tag img1 --to "127.0.0.1:$PC/chunked" --layout "$L" --chunk-size 100KiB \
  --images-lock "$T/chunk.lock.json" >/dev/null
patches=$(awk '$1=="PATCH"' chunk.log | wc -l)
small=$(awk '$1=="PATCH" {print $4}' chunk.log | sort -n | head -1)
[ "$patches" -ge 3 ] || fail "expected PATCH chunks, saw $patches: $(cat chunk.log)"
bigs=$(awk '$1=="PATCH" && $4 < 400000' chunk.log | wc -l)
[ "$bigs" -le 2 ] || fail "chunks below OCI-Chunk-Min-Length other than each blob's last: $(cat chunk.log)"
[ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REG/chunked/kernelsmith:img1" | jq -r .Digest)" = "$D1" ] ||
  fail "chunked push stored another digest"
ok "chunked push: $patches PATCHes of >= 400000 bytes except the last (smallest $small)"

echo "== a registry that answers with relative Location headers"
REL=$(start_registry "$T/reg-rel" relative)
curl -s -i -X POST "http://127.0.0.1:$REL/v2/probe/x/blobs/uploads/" | grep -i '^location: /v2/' >/dev/null ||
  fail "the registry did not answer with a relative Location"
"$KSIMG" -q push --tag img1 --tag img2 --to "127.0.0.1:$REL/rel" --layout "$L" --chunk-size 300KiB \
  --images-lock "$T/rel.lock.json" >/dev/null
"$KSIMG" -q push --tag img1 --to "127.0.0.1:$REL/rel2" --layout "$L" --images-lock "$T/rel.lock.json" >/dev/null
[ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REL/rel2/kernelsmith:img1" | jq -r .Digest)" = "$D1" ] ||
  fail "push with relative Locations failed"
ok "relative Location headers: monolithic and chunked pushes work"

echo "== what skopeo pushed, ksimg pulls"
skopeo copy -q --dest-tls-verify=false "oci:$L:img2" "docker://127.0.0.1:$REG/sk/kernelsmith:img2" >/dev/null
out=$("$KSIMG" pull "127.0.0.1:$PX/sk/kernelsmith:img2" --layout "$T/pulled" --json)
[ "$(jq -r '.[0].digest' <<<"$out")" = "$D2" ] || fail "pull: $out"
[ "$(tag_digest "$T/pulled" img2)" = "$D2" ] || fail "pulled layout has no img2 tag"
"$KSIMG" inspect "$T/pulled:img2" --json >/dev/null || fail "ksimg inspect of the pulled image"
ok "ksimg pulls the skopeo-pushed image with its digest"
docker_mt=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$REG/sk/kernelsmith:img2" | jq -r .mediaType)
skopeo copy -q --dest-tls-verify=false --format v2s2 "oci:$L:img1" "docker://127.0.0.1:$REG/dk/kernelsmith:img1" >/dev/null
out=$("$KSIMG" pull "127.0.0.1:$REG/dk/kernelsmith:img1" --tag docker1 --layout "$T/pulled" --json)
[ "$(jq -r '.[0].blobs | length' <<<"$out")" = 3 ] || fail "docker v2 pull: $out"
grep -q 'application/vnd.docker.distribution.manifest.v2+json' "$T/pulled/index.json" || fail "docker media type lost"
ok "ksimg pulls a Docker schema 2 manifest too (skopeo's OCI one was $docker_mt)"

echo "== pull --locked fetches exactly the pinned digests"
out=$("$KSIMG" pull --locked --layout "$T/locked" --json)
[ "$(jq -r 'map(.tag) | sort | join(",")' <<<"$out")" = "img1,img2" ] || fail "locked: $out"
[ "$(tag_digest "$T/locked" img1)" = "$D1" ] && [ "$(tag_digest "$T/locked" img2)" = "$D2" ] ||
  fail "locked pull tags"
for b in "$T"/locked/blobs/sha256/*; do
  [ "sha256:$(sha256sum "$b" | cut -d' ' -f1)" = "sha256:$(basename "$b")" ] || fail "$b does not match its name"
done
ok "pull --locked stores both pinned images, every blob matches its digest"
expect 2 "no image of cell k9/none" "$KSIMG" pull --locked --cell k9/none --layout "$T/locked"
expect 2 "names no tag or digest" "$KSIMG" pull "127.0.0.1:$REG/ns/kernelsmith" --layout "$T/locked"
expect 2 "not a registry host" "$KSIMG" push --tag img1 --to kernelsmith --layout "$L"
expect 2 "has no image tagged nope" "$KSIMG" push --tag nope --to "127.0.0.1:$REG/ns" --layout "$L"
expect 1 "cannot reach the registry" "$KSIMG" pull "127.0.0.1:$(free_port)/ns/kernelsmith:img1" --layout "$T/locked"
ok "usage errors exit 2 naming the problem, an unreachable registry exits 1"

echo "== immutable tags: <tag>-<12 hex of the inputs label>, never moved"
IL="$T/imm.lock.json"
H=$(printf 'inputs one' | sha256sum | cut -d' ' -f1)
"$KSIMG" -q image build --layer "$T/trees/base" --layer "$T/trees/tool1" --tag k9-imm --layout "$T/imm" --cmd true \
  --label org.kernelsmith.cell=k9/imm --label "org.kernelsmith.inputs-sha256=$H" >/dev/null
DI=$(tag_digest "$T/imm" k9-imm)
out=$("$KSIMG" push --tag k9-imm --to "127.0.0.1:$REG/imm" --layout "$T/imm" --json --images-lock "$IL")
[ "$(jq -r '.[0].tags | join(",")' <<<"$out")" = "k9-imm,k9-imm-${H:0:12}" ] || fail "push --json tags: $out"
[ "$(jq -c '.images["k9-imm"] | [.digest, .tags]' "$IL")" = "[\"$DI\",[\"k9-imm\",\"k9-imm-${H:0:12}\"]]" ] ||
  fail "images lock: $(cat "$IL")"
[ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REG/imm/kernelsmith:k9-imm-${H:0:12}" | jq -r .Digest)" = "$DI" ] ||
  fail "the immutable tag does not name $DI"
ok "push sets k9-imm and k9-imm-${H:0:12} on $DI; images.lock.json records both tags and the digest"
"$KSIMG" -q push --tag k9-imm --to "127.0.0.1:$REG/imm" --layout "$T/imm" --images-lock "$IL" >/dev/null ||
  fail "pushing the same digest again must succeed"
# Same inputs label, other bytes: the immutable tag would move. Refused before anything is sent.
"$KSIMG" -q image build --layer "$T/trees/base" --layer "$T/trees/tool2" --tag k9-imm --layout "$T/imm2" --cmd true \
  --label org.kernelsmith.cell=k9/imm --label "org.kernelsmith.inputs-sha256=$H" >/dev/null
expect 6 "k9-imm-${H:0:12} is immutable and names $DI" \
  "$KSIMG" -q push --tag k9-imm --to "127.0.0.1:$REG/imm" --layout "$T/imm2" --images-lock "$IL"
[ "$(wc -l <"$T/err.txt")" = 1 ] || fail "the refusal is not one line: $(cat "$T/err.txt")"
[ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REG/imm/kernelsmith:k9-imm" | jq -r .Digest)" = "$DI" ] ||
  fail "the refused push moved the moving tag"
[ "$(jq -r '.images["k9-imm"].digest' "$IL")" = "$DI" ] || fail "the refused push changed the images lock"
ok "moving an immutable tag is refused with exit 6, in one line; nothing changed"
left=$(find "$T" -maxdepth 1 -name '*.lock.json.*' -o -maxdepth 1 -name 'images.lock.json.*' | wc -l)
[ "$left" = 0 ] || fail "files left next to the images locks: $(find "$T" -maxdepth 1 -name '*.lock.json.*')"
ok "writing images locks leaves no other file next to them"

echo "== a real cell image from the default layout, if built"
DEF=${KSIMG_LAYOUT:-${XDG_DATA_HOME:-$HOME/.local/share}/ksimg/oci}
if [ -f "$DEF/index.json" ] && [ "$(tag_digest "$DEF" k4-mipsel)" != "" ]; then
  DC=$(tag_digest "$DEF" k4-mipsel)
  out=$("$KSIMG" push --tag k4-mipsel --to "127.0.0.1:$REG/cells" --layout "$DEF" --json --images-lock "$T/cells.lock.json")
  [ "$(jq -r '.[0].digest' <<<"$out")" = "$DC" ] || fail "cell push: $out"
  [ "$(skopeo inspect --tls-verify=false "docker://127.0.0.1:$REG/cells/kernelsmith:k4-mipsel" | jq -r .Digest)" = "$DC" ] ||
    fail "skopeo disagrees about the cell image"
  "$KSIMG" -q pull --locked --cell k4/mipsel --images-lock "$T/cells.lock.json" --layout "$T/cells" >/dev/null
  [ "$(tag_digest "$T/cells" k4-mipsel)" = "$DC" ] || fail "cell pull --locked"
  ok "k4-mipsel ($(jq '.[0].bytes_sent' <<<"$out") bytes) pushed, inspected by skopeo, pulled back by its pin"
  if command -v podman >/dev/null && [ -n "${CONTAINERS_REGISTRIES_CONF:-}" ]; then
    podman_storage vfs
    podman run --rm "127.0.0.1:$REG/cells/kernelsmith@$DC" kbuild --help > kbuild.txt 2>podman.err ||
      { cat podman.err; fail "podman run of the pushed cell image failed"; }
    grep -q '^Usage: kbuild' kbuild.txt || fail "kbuild --help printed: $(head -3 kbuild.txt)"
    podman rmi -a -f >/dev/null 2>&1 || true
    ok "podman run 127.0.0.1:$REG/cells/kernelsmith@$DC kbuild --help works"
  fi
else
  echo "(no k4-mipsel in $DEF: skipped)"
fi

echo "PASS: $CHECKS checks"
