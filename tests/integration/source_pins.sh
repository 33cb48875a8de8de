#!/usr/bin/env bash
# Tree pins and the source mirror, without podman (recipes/README.md "Tree pins", docs/mirror.md):
#  - `ksimg hash --nar` agrees with the real `nix-hash --type sha256` on a tree with
#    executables, symlinks, empty dirs and odd names, and gives the same NAR hash for the
#    tree's .tar.gz and .tar.xz (different bytes); `ksimg hash FILE` is sha256sum's;
#  - a script recipe input pinned by nar_sha256, served on 127.0.0.1: fetched through the
#    download cache (by `ksimg mirror push`, which verifies before uploading) from a .tar.gz
#    and, in a fresh cache, from a .tar.xz: both accepted; a changed tree is refused naming both
#    hashes, nothing cached, the command fails listing it;
#  - `ksimg mirror push` to a real docker-registry: one artifact per source (artifactType,
#    blob digest = the sha256 pin, annotations, tag = file name), a second push uploads
#    nothing; `ksimg mirror check` says present/missing and exits 1 when something lacks;
#  - the project's recipes: every mcm-* recipe locks (no pending), with the NAR pin.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools jq tar xz gzip sha256sum nix-hash curl python3 /usr/bin/docker-registry
need_static_server
run_dir source_pins
checks=0
ok() { checks=$((checks + 1)); }  # counted silently; the last line prints the total

# --- A tree like a git archive's: executables, symlinks, empty dirs, odd names.
TOP=tree-1a2b3c
S="$T/src/$TOP"
mkdir -p "$S/bin" "$S/empty/nested" "$S/sub dir" "$S/-dash"
printf '#!/bin/sh\necho hi\n' >"$S/bin/run"; chmod 755 "$S/bin/run"
printf 'data' >"$S/sub dir/file with spaces"
printf '\xc3\xa9' >"$S/$(printf '\xc3\xa9t\xc3\xa9')"
printf 'B' >"$S/B"; printf '_' >"$S/_u"; printf 'a' >"$S/a"
printf 'x' >"$S/-dash/-x"
ln -s bin/run "$S/link"; ln -s /nowhere "$S/dangling"; ln -s "sub dir" "$S/dirlink"
NIX=$(nix-hash --type sha256 "$S")
OUT=$("$KSIMG" hash --nar "$S") || fail "ksimg hash --nar DIR"
[ "$(echo "$OUT" | head -1)" = "sha256:$NIX" ] || fail "NAR hash $OUT != nix-hash $NIX"; ok
SRI=$(echo "$OUT" | sed -n 2p)
[ "$SRI" = "sha256-$(python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$NIX")" ] \
  || fail "SRI form $SRI"; ok
WWW="$T/www"; mkdir -p "$WWW"
tar --owner=0 --group=0 -C "$T/src" -cf - "$TOP" | gzip -9 >"$WWW/tree.tar.gz"
tar --sort=name --owner=1 --group=1 --mtime=@1 -C "$T/src" -cf - "$TOP" | xz >"$WWW/tree.tar.xz"
cmp -s "$WWW/tree.tar.gz" "$WWW/tree.tar.xz" && fail "the two archives should differ"
for f in tree.tar.gz tree.tar.xz; do
  [ "$("$KSIMG" hash --nar "$WWW/$f" | sed -n 2p)" = "$SRI" ] || fail "$f: another NAR hash"; ok
done
[ "$("$KSIMG" hash "$WWW/tree.tar.gz" | head -1)" = "sha256:$(sha256sum "$WWW/tree.tar.gz" | cut -d' ' -f1)" ] \
  || fail "ksimg hash FILE is not the file's sha256"; ok
# A changed tree (one byte of one file) in another archive.
cp -a "$S" "$T/changed"; printf 'hi!' >"$T/changed/bin/run"
mkdir -p "$T/src2" && mv "$T/changed" "$T/src2/$TOP"
tar -C "$T/src2" -czf "$WWW/changed.tar.gz" "$TOP"
printf 'plain file' >"$WWW/gmp-6.3.0.tar.xz"
GMP_SHA=$(sha256sum "$WWW/gmp-6.3.0.tar.xz" | cut -d' ' -f1)

static_server "$WWW"
BASE=$STATIC_URL
RPORT=$(start_registry "$T/reg")
MIRROR="127.0.0.1:$RPORT/ci/sources"

# --- Recipes: a script recipe whose first input is pinned by its tree.
mkdir -p "$T/data"
cp -r "$KSIMG_SRC/matrix" "$KSIMG_SRC/recipes" "$KSIMG_SRC/layers" "$T/data/"
recipe() {  # recipe NAME TREE-URL
  jq -n --arg name "$1" --arg url "$2" --arg nar "$SRI" --arg gurl "$BASE/gmp-6.3.0.tar.xz" --arg gsha "$GMP_SHA" \
    '{name: $name, kind: "script", arch: "x86_64", gcc: "14", libc: "musl", triple: "x86_64-linux-musl",
      builder: "musl-cross-make", install_dir: ("/opt/t/" + $name),
      inputs: [{name: "musl-cross-make-1a2b3c.tar.gz", urls: [$url], nar_sha256: $nar},
               {name: "gmp-6.3.0.tar.xz", urls: [$gurl], sha256: $gsha}]}' >"$T/data/recipes/$1.json"
}
recipe tree-gz "$BASE/tree.tar.gz"
recipe tree-xz "$BASE/tree.tar.xz"
recipe tree-changed "$BASE/changed.tar.gz"
K() { "$KSIMG" --data-dir "$T/data" "$@"; }

SOURCE_DATE_EPOCH=1700000000 K lock --recipe tree-gz --lock "$T/lock.json" >/dev/null 2>"$T/err" || fail "lock: $(cat "$T/err")"
jq -e --arg n "$SRI" '.recipes["tree-gz"] | .status == "locked" and .inputs[0].nar_sha256 == $n
  and (.inputs[0] | has("sha256") | not) and .inputs[1].sha256 != null' "$T/lock.json" >/dev/null \
  || fail "lock entry: $(jq -c '.recipes["tree-gz"]' "$T/lock.json")"; ok

# --- mirror push fetches each source through the cache, verified by its pin.
K mirror push "$MIRROR" --recipe tree-gz --cache "$T/c1" >"$T/push1" 2>"$T/err" || fail "push gz: $(cat "$T/err")"
grep -q "^uploaded musl-cross-make-1a2b3c.tar.gz $MIRROR:musl-cross-make-1a2b3c.tar.gz@sha256:" "$T/push1" \
  || fail "push output: $(cat "$T/push1")"; ok
[ "$(ls "$T/c1/nar")" = "$(echo "$NIX")" ] || fail "the archive is not cached by its NAR hash: $(ls "$T/c1/nar")"; ok
K mirror push "$MIRROR" --recipe tree-xz --cache "$T/c2" >"$T/push2" 2>"$T/err" || fail "push xz (same tree): $(cat "$T/err")"
grep -q "^uploaded musl-cross-make-1a2b3c.tar.gz" "$T/push2" && grep -q "^skipped gmp-6.3.0.tar.xz" "$T/push2" \
  || fail "second push: $(cat "$T/push2")"; ok
cmp -s "$T/c2/nar/$NIX" "$WWW/tree.tar.xz" || fail "the xz archive was not the one cached"; ok
rc=0; K mirror push "$MIRROR" --recipe tree-changed --cache "$T/c3" >"$T/push3" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] || fail "changed tree: exit $rc: $(cat "$T/err")"; ok
grep -qF "tree (NAR) hash mismatch for musl-cross-make-1a2b3c.tar.gz: expected $SRI, got sha256-" "$T/err" \
  || fail "the refusal does not name both hashes: $(cat "$T/err")"; ok
grep -qF "$BASE/changed.tar.gz" "$T/err" && grep -qF "could not be fetched" "$T/err" \
  && grep -qF "musl-cross-make-1a2b3c.tar.gz ($SRI)" "$T/err" || fail "the failure is not listed: $(cat "$T/err")"; ok
[ -z "$(ls -A "$T/c3/nar" 2>/dev/null)" ] || fail "a wrong tree was cached"; ok
[ -z "$(ls -A "$T/c3/tmp" 2>/dev/null | grep -v '^nar\.' || true)" ] || fail "temp files left: $(ls -A "$T/c3/tmp")"; ok

# --- What the registry holds: the artifact's shape.
M=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$RPORT/v2/ci/sources/manifests/gmp-6.3.0.tar.xz") || fail "no gmp artifact"
echo "$M" | jq -e --arg s "sha256:$GMP_SHA" --arg u "$BASE/gmp-6.3.0.tar.xz" '.artifactType == "application/vnd.ksimg.source.v1"
  and .config.mediaType == "application/vnd.oci.empty.v1+json" and .layers[0].digest == $s
  and .annotations["dev.ksimg.source.urls"] == $u and .annotations["dev.ksimg.source.name"] == "gmp-6.3.0.tar.xz"' \
  >/dev/null || fail "artifact manifest: $M"; ok
curl -sf "http://127.0.0.1:$RPORT/v2/ci/sources/blobs/sha256:$GMP_SHA" | cmp -s - "$WWW/gmp-6.3.0.tar.xz" \
  || fail "the blob is not the source's bytes"; ok
curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
  "http://127.0.0.1:$RPORT/v2/ci/sources/manifests/musl-cross-make-1a2b3c.tar.gz" \
  | jq -e --arg n "$SRI" '.annotations["dev.ksimg.source.nar_sha256"] == $n' >/dev/null || fail "no NAR annotation"; ok

# --- mirror check.
K mirror check "$MIRROR" --recipe tree-gz >"$T/check1" 2>"$T/err" || fail "check: $(cat "$T/err")"
[ "$(grep -c '^present ' "$T/check1")" = 2 ] || fail "check output: $(cat "$T/check1")"; ok
rc=0; K mirror check "$MIRROR" --recipe tree-gz --kernel "$BASE/linux-9.9.tar.xz=$(printf k | sha256sum | cut -d' ' -f1)" \
  >"$T/check2" 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q "^missing linux-9.9.tar.xz sha256:" "$T/check2" && grep -qF "lacks 1 of 3" "$T/err" \
  || fail "check with a missing source: exit $rc: $(cat "$T/check2" "$T/err")"; ok

# --- The project's recipes: nothing pending, the mcm pin as kernelsmith's flake.lock has it.
SOURCE_DATE_EPOCH=1700000000 "$KSIMG" lock --recipe mcm-gcc6.5.0-x86_64 --recipe mcm-gcc13.3.0-mips64el \
  --lock "$T/mcm.json" >/dev/null 2>"$T/err" || fail "lock mcm: $(cat "$T/err")"
jq -e '[.recipes[] | .status] == ["locked", "locked"] and ([.recipes[] | .inputs[0].nar_sha256] | unique)
  == ["sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="]' "$T/mcm.json" >/dev/null \
  || fail "mcm lock: $(jq -c . "$T/mcm.json")"; ok
! grep -q pending "$T/err" || fail "lock still warns about a pending recipe: $(cat "$T/err")"; ok
echo "source_pins: $checks checks passed"
