#!/usr/bin/env bash
# Push and pull through ksimg_registry_proxy in front of the real docker-registry while it
# misbehaves: 500s, 503 with Retry-After, connections reset mid-body (after the registry
# committed, and before), slow bodies, a blob upload that always fails, a manifest PUT answered
# MANIFEST_BLOB_UNKNOWN (once, and always), a wrong digest served on pull. Each push either completes (and the registry has the right image) or fails with a
# clear message and no tag pointing at an incomplete manifest; corrupt bytes on pull are
# refused (exit 3) and nothing is stored.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"

scratch registry_faults
export KSIMG_IMAGES_LOCK="$T/images.lock.json"
L="$T/oci"
make_images "$L"
REG=$(start_registry "$T/reg")
D1=$(tag_digest "$L" img1)
UP='/blobs/uploads/'

# push_through NAME REPO [push args] -- [proxy faults...]: push img1 via a fresh proxy
push_via() {
  local name=$1 repo=$2
  shift 2
  local px
  px=$(start_proxy "$REG" "$T/$name.log" "$@")
  "$KSIMG" push --tag img1 --to "127.0.0.1:$px/$repo" --layout "$L" --json >"$name.json" 2>"$name.err"
}
registry_has() { [ "$(manifest_status "$REG" "$1/kernelsmith" img1)" = 200 ]; }

echo "== 500 twice on blob commits: retried, push completes"
push_via e500 e500 --fault "500 PUT 2 $UP" || { cat e500.err; fail "push failed"; }
[ "$(grep -c ' 500 ' e500.log)" = 2 ] || fail "expected 2 injected 500s: $(cat e500.log)"
grep -q 'retrying in' e500.err || fail "no retry message on stderr"
registry_has e500 || fail "the tag is missing after a retried push"
ok "two 500s retried with backoff; the image is complete"

echo "== 503 with Retry-After on session start: the wait is honoured"
start=$(date +%s%N)
push_via e503 e503 --fault "503 POST 1 $UP" || { cat e503.err; fail "push failed"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -ge 1000 ] || fail "finished in ${ms}ms: Retry-After: 1 was not honoured"
grep -q 'retrying in 1.0s' e503.err || fail "the retry did not wait Retry-After's 1s: $(cat e503.err)"
registry_has e503 || fail "tag missing"
ok "503 + Retry-After: 1 -> waited 1s, push completes (${ms}ms)"

echo "== connection reset after the registry committed: HEAD finds it, nothing re-sent"
push_via reset reset --fault "reset PUT 1 $UP" || { cat reset.err; fail "push failed"; }
resent=$(awk '$1=="PUT" && $2 ~ /uploads/' reset.log | wc -l)
blobs=$(jq '.[0].blobs | length' reset.json)
[ "$resent" = "$blobs" ] || fail "$resent upload PUTs for $blobs blobs: the committed blob was sent again"
heads=$(awk '$1=="HEAD" && $2 ~ /blobs\/sha256/' reset.log | wc -l)
[ "$heads" = "$(( 2 * blobs + 1 ))" ] || fail "$heads blob HEADs: expected one before and after each upload, plus one after the failed commit"
registry_has reset || fail "tag missing"
ok "a commit whose answer was cut off is found by HEAD, not re-sent ($resent PUTs for $blobs blobs)"

echo "== connection dropped before forwarding: the blob is re-sent whole"
push_via drop drop --fault "drop PUT 1 $UP" || { cat drop.err; fail "push failed"; }
[ "$(awk '$1=="PUT" && $2 ~ /uploads/' drop.log | wc -l)" = "$(( $(jq '.[0].blobs | length' drop.json) + 1 ))" ] ||
  fail "expected one extra PUT: $(cat drop.log)"
registry_has drop || fail "tag missing"
ok "a dropped upload is sent again from the layout file"

echo "== chunked upload with a PATCH reset mid-way: restarted, completes"
PX=$(start_proxy "$REG" "$T/patch2.log" --fault "drop PATCH 1 $UP")
"$KSIMG" -q push --tag img1 --to "127.0.0.1:$PX/patch" --layout "$L" --chunk-size 200KiB >/dev/null 2>patch.err ||
  { cat patch.err; fail "chunked push failed"; }
registry_has patch || fail "tag missing"
ok "a failed PATCH restarts the blob in a new session"

echo "== a blob upload that always fails: clear error, no tag, and a later push completes"
rc=0
BASE=$(jq -r '.layers[0].digest' "$L/blobs/sha256/${D1#sha256:}")
push_via always always --fault "500 PUT 0 digest=$BASE" || rc=$?
[ "$rc" = 1 ] || fail "exit $rc, expected 1"
last=$(tail -1 always.err)
[[ "$last" == "ksimg: "*"HTTP 500"*"the blob was not stored" ]] || fail "unclear last line: $last"
[ "$(grep -c '^ksimg: ' always.err)" = 1 ] || fail "more than one error line: $(cat always.err)"
[ "$(manifest_status "$REG" always/kernelsmith img1)" = 404 ] || fail "a tag points at an incomplete image"
[ "$(manifest_status "$REG" always/kernelsmith "$D1")" = 404 ] || fail "the manifest went up without its blobs"
grep -q '/manifests/' always.log && fail "a manifest PUT was attempted"
push_via again always || { cat again.err; fail "re-run failed"; }
registry_has always || fail "tag missing after the re-run"
[ "$(jq -c '[.[0].blobs[] | select(.action=="uploaded") | .digest]' again.json)" = "[\"$BASE\"]" ] ||
  fail "the re-run did not send exactly the missing blob: $(cat again.json)"
ok "exit 1 naming HTTP 500, no manifest or tag; the re-run sends only what is missing"

echo "== the tag PUT always fails: the digest is there, the tag is not"
rc=0
push_via tagfail tagfail --fault "500 PUT 0 /manifests/img1" || rc=$?
[ "$rc" = 1 ] || fail "exit $rc"
[ "$(manifest_status "$REG" tagfail/kernelsmith "$D1")" = 200 ] || fail "manifest by digest missing"
[ "$(manifest_status "$REG" tagfail/kernelsmith img1)" = 404 ] || fail "tag present"
ok "manifest by digest first; a failed tag leaves no tag"

echo "== manifest PUT answered MANIFEST_BLOB_UNKNOWN once (a blob link rewritten by a concurrent push): rechecked, retried"
push_via bu1 bu1 --fault "blobunknown PUT 1 /manifests/sha256:" || { cat bu1.err; fail "push failed"; }
[ "$(awk '$1=="PUT" && $2 ~ /manifests\/sha256:/' bu1.log | wc -l)" = 2 ] || fail "expected 2 manifest PUTs by digest: $(cat bu1.log)"
grep -q 'although it has every blob; checking the blobs and retrying' bu1.err || fail "no retry warning: $(cat bu1.err)"
registry_has bu1 || fail "tag missing after the retried manifest PUT"
ok "one MANIFEST_BLOB_UNKNOWN: blobs checked again, the manifest PUT retried, the push completes"

echo "== manifest PUT always MANIFEST_BLOB_UNKNOWN: three tries, one clear line, no tag"
rc=0
push_via bu0 bu0 --fault "blobunknown PUT 0 /manifests/" || rc=$?
[ "$rc" = 1 ] || fail "exit $rc, expected 1"
[ "$(awk '$1=="PUT" && $2 ~ /manifests\//' bu0.log | wc -l)" = 3 ] || fail "expected 3 manifest PUTs: $(cat bu0.log)"
last=$(tail -1 bu0.err)
[[ "$last" == "ksimg: "*"MANIFEST_BLOB_UNKNOWN"*"still lacks a blob after 3 tries; push again"* ]] || fail "unclear last line: $last"
[ "$(manifest_status "$REG" bu0/kernelsmith img1)" = 404 ] || fail "a tag exists"
ok "exit 1 after 3 tries, naming MANIFEST_BLOB_UNKNOWN; no tag"

echo "== pull: slow bodies and resets mid-body are survived"
"$KSIMG" -q push --tag img1 --to "127.0.0.1:$REG/src" --layout "$L" >/dev/null
PX=$(start_proxy "$REG" "$T/slow.log" --fault "slow GET 0 /blobs/sha256")
"$KSIMG" -q pull "127.0.0.1:$PX/src/kernelsmith:img1" --layout "$T/p-slow" >/dev/null || fail "slow pull failed"
[ "$(tag_digest "$T/p-slow" img1)" = "$D1" ] || fail "slow pull tag"
ok "slow blob bodies: pull completes"
PX=$(start_proxy "$REG" "$T/cut.log" --fault "reset GET 2 /blobs/sha256")
"$KSIMG" -q pull "127.0.0.1:$PX/src/kernelsmith:img1" --layout "$T/p-cut" 2>cut.err >/dev/null ||
  { cat cut.err; fail "pull with resets failed"; }
[ "$(tag_digest "$T/p-cut" img1)" = "$D1" ] || fail "reset pull tag"
for b in "$T"/p-cut/blobs/sha256/*; do
  [ "$(sha256sum "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || fail "$b is corrupt"
done
ok "bodies cut mid-way are fetched again; every stored blob matches"

echo "== pull: a wrong blob is refused and nothing is stored"
PX=$(start_proxy "$REG" "$T/bad.log" --fault "corrupt GET 0 /blobs/sha256")
mkdir -p "$T/p-bad"
expect 3 "refusing it, nothing was stored" "$KSIMG" pull "127.0.0.1:$PX/src/kernelsmith:img1" --layout "$T/p-bad"
[ -z "$(tag_digest "$T/p-bad" img1)" ] || fail "a tag was set"
[ "$(find "$T/p-bad/blobs" -type f | wc -l)" = 0 ] || fail "blobs were stored: $(find "$T/p-bad/blobs" -type f)"
[ "$(find "$T/p-bad/.ksimg-tmp" -type f 2>/dev/null | wc -l)" = 0 ] || fail "temp files left behind"
ok "corrupt blob: exit 3, no tag, no blob, no temp file"
PX=$(start_proxy "$REG" "$T/badm.log" --fault "corrupt GET 0 /manifests/")
"$KSIMG" -q push --tag img1 --to "127.0.0.1:$REG/src" --layout "$L" --images-lock "$T/pin.json" >/dev/null
sed -i "s/127.0.0.1:$REG/127.0.0.1:$PX/" "$T/pin.json"
expect 3 "refusing it" "$KSIMG" pull --locked --images-lock "$T/pin.json" --layout "$T/p-badm"
[ "$(find "$T/p-badm/blobs" -type f 2>/dev/null | wc -l)" = 0 ] || fail "blobs stored for a bad manifest"
ok "pull --locked refuses a manifest that does not hash to the pin (exit 3)"

echo "PASS: $CHECKS checks"
