#!/usr/bin/env bash
# The tree store (src/store, `ksimg store`): layers become OSTree commits keyed by diff_id and
# images hardlink checkouts of their layers laid over each other. Layers are written member by
# member (tests/data/make_layout.py) so they can hold what ksimg never writes: OCI whiteouts and
# opaque dirs, a symlink to a dir outside the root with an upper layer's dir through it, a setuid
# file, a device node (skipped), and hostile members (a name with "..", an absolute name, a
# hardlink leaving the tree), which are refused (exit 3) leaving nothing behind. Also: the checkout is cached
# per image digest and shares inodes with the repo; ls, du, gc and fsck; `ostree fsck` agrees.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools python3 jq
run_dir store_layers
cd "$T"
export KSIMG_STORE="$T/store"
L="$T/oci"
OUT="$T/outside"   # a directory outside the image a hostile symlink points at
mkdir -p "$OUT"

layout() {  # layout TAG JSON: adds TAG to $L with the layers JSON describes; prints its digest
  printf '%s' "$2" >"$T/spec.json"
  python3 "$KSIMG_SRC/tests/data/make_layout.py" "$L" "$1" "$T/spec.json"
}

D1=$(layout good "{\"layers\": [
  [{\"name\": \"a\", \"type\": \"dir\"}, {\"name\": \"a/x\", \"data\": \"x\"}, {\"name\": \"a/y\", \"data\": \"y\"},
   {\"name\": \"o\", \"type\": \"dir\"}, {\"name\": \"o/old\", \"data\": \"old\"},
   {\"name\": \"s\", \"type\": \"symlink\", \"target\": \"$OUT\"},
   {\"name\": \"top\", \"type\": \"symlink\", \"target\": \"/\"},
   {\"name\": \"f\", \"type\": \"dir\"}, {\"name\": \"f/inner\", \"data\": \"i\"},
   {\"name\": \"suid\", \"data\": \"#!/bin/sh\\n\", \"mode\": 2541},
   {\"name\": \"h1\", \"data\": \"same\"}, {\"name\": \"h2\", \"type\": \"hardlink\", \"target\": \"h1\"}],
  [{\"name\": \"a\", \"type\": \"dir\"}, {\"name\": \"a/.wh.x\", \"data\": \"\"},
   {\"name\": \"o\", \"type\": \"dir\"}, {\"name\": \"o/.wh..wh..opq\", \"data\": \"\"}, {\"name\": \"o/new\", \"data\": \"new\"},
   {\"name\": \"s\", \"type\": \"dir\"}, {\"name\": \"s/pwned\", \"data\": \"through the symlink\"},
   {\"name\": \"f\", \"data\": \"now a file\"}]]}")
"$KSIMG" -q store checkout --layout "$L" --tag good >co.out 2>co.err || { cat co.err; fail "store checkout"; }
R=$(cat co.out)
[ "$R" = "$KSIMG_STORE/images/${D1#sha256:}/root" ] || fail "checkout path: $R"
[ -f "$R/a/y" ] && [ ! -e "$R/a/x" ] && [ ! -e "$R/a/.wh.x" ] || fail "whiteout: $(ls -a "$R/a")"
ok "a whiteout deletes the lower file and is not itself checked out"
[ "$(ls -A "$R/o")" = new ] || fail "opaque dir: $(ls -A "$R/o")"
ok "an opaque dir hides every lower entry"
[ -d "$R/s" ] && [ ! -L "$R/s" ] && [ -f "$R/s/pwned" ] || fail "s: $(ls -la "$R")"
[ -z "$(ls -A "$OUT")" ] || fail "the layer wrote through a symlink to $OUT: $(ls -A "$OUT")"
ok "an upper dir replaces a lower symlink to outside the root; nothing is written through it"
[ -f "$R/f" ] && [ "$(cat "$R/f")" = "now a file" ] || fail "f is not the upper file"
ok "an upper file replaces a lower directory"
[ "$(readlink "$R/top")" = / ] || fail "symlink to / not kept as a symlink"
perm=$(stat -c %a "$R/suid")
[ $((8#$perm & 8#6000)) -eq 0 ] || fail "setuid/setgid kept: $perm"
ok "a symlink to / stays a symlink (never followed); setuid/setgid dropped (mode $perm)"
[ "$(stat -c %i "$R/h1")" = "$(stat -c %i "$R/h2")" ] || fail "hardlink within the layer lost"
[ "$(stat -c %h "$R/a/y")" -ge 2 ] || fail "checkout is not hardlinked into the repo (links $(stat -c %h "$R/a/y"))"
ok "files are hardlinks into the repo; a layer's own hardlink is kept"

before=$(stat -c %Y "$R")
"$KSIMG" -q store checkout --layout "$L" --tag good >co2.out || fail "second checkout"
[ "$(cat co2.out)" = "$R" ] && [ "$(stat -c %Y "$R")" = "$before" ] || fail "not cached"
D2=$(layout other '{"layers": [[{"name": "a", "type": "dir"}, {"name": "a/x", "data": "x"}, {"name": "a/y", "data": "y"},
  {"name": "o", "type": "dir"}, {"name": "o/old", "data": "old"}]]}')
"$KSIMG" -q store checkout --layout "$L" --tag other >co3.out || fail "checkout other"
[ "$(stat -c %i "$(cat co3.out)/a/y")" = "$(stat -c %i "$R/a/y")" ] || fail "same bytes, different inodes"
ok "the checkout is cached per digest; identical files of two images share one inode"

"$KSIMG" -q store ls >ls.out
[ "$(grep -c '^layer ' ls.out)" = 3 ] && [ "$(grep -c '^image ' ls.out)" = 2 ] || fail "ls: $(cat ls.out)"
"$KSIMG" -q store du >du.out && grep -q "^store on disk" du.out || fail "du: $(cat du.out)"
ok "store ls lists 3 layers and 2 images; du: $(grep 'store on disk' du.out)"

hostile() {  # hostile NAME JSON-MEMBERS WHAT
  layout "$1" "{\"layers\": [[{\"name\": \"ok\", \"data\": \"fine\"}, $2]]}" >/dev/null
  local rc=0
  "$KSIMG" -q store checkout --layout "$L" --tag "$1" >h.out 2>h.err || rc=$?
  [ "$rc" = 3 ] || { cat h.err; fail "$3: exit $rc, expected 3"; }
  [ ! -e "$KSIMG_STORE/images/$(tag_digest "$L" "$1" | cut -c8-)" ] || fail "$3: an image was checked out"
  ok "$3 refused (exit 3): $(head -c 160 h.err)"
}
hostile dotdot '{"name": "../escape", "data": "x"}' "a member named ../escape"
hostile absolute '{"name": "/etc/ksimg-absolute", "data": "x"}' "an absolute member name"
hostile hardlink '{"name": "hl", "type": "hardlink", "target": "../../../etc/passwd"}' "a hardlink leaving the tree"
layout device '{"layers": [[{"name": "ok", "data": "fine"}, {"name": "dev", "type": "dir"}, {"name": "dev/null", "type": "chr"}]]}' >/dev/null
"$KSIMG" -q store checkout --layout "$L" --tag device >dev.out 2>dev.err || { cat dev.err; fail "a layer with a device node"; }
[ -d "$(cat dev.out)/dev" ] && [ ! -e "$(cat dev.out)/dev/null" ] || fail "device node: $(ls -la "$(cat dev.out)/dev")"
ok "a device node (an image's /dev entries) is neutralised: skipped, its directory kept"
[ ! -e /etc/ksimg-absolute ] && [ ! -e "$T/escape" ] || fail "a hostile member was written"
[ "$(grep -c '^layer ' <("$KSIMG" -q store ls))" = 4 ] || fail "a refused layer is in the store"
ok "refused layers leave no ref and write nothing outside"

"$KSIMG" -q store fsck >fsck.out || fail "store fsck: $(cat fsck.out)"
if command -v ostree >/dev/null; then
  ostree fsck --repo="$KSIMG_STORE/repo" >ostree-fsck.out 2>&1 || fail "ostree fsck: $(cat ostree-fsck.out)"
fi
ok "store fsck and ostree fsck accept the store"
jq '.manifests |= map(select(.annotations["org.opencontainers.image.ref.name"] == "other"))' "$L/index.json" >i.json
mv i.json "$L/index.json"
"$KSIMG" -q store gc --layout "$L" >gc.out || fail "gc"
grep -q "removed 2 image checkouts, 3 layers" gc.out || fail "gc: $(cat gc.out)"
[ ! -e "$R" ] && [ -f "$(cat co3.out)/a/y" ] || fail "gc removed the wrong image"
"$KSIMG" -q store fsck >/dev/null || fail "fsck after gc"
ok "gc keeps the image tagged in the layout and drops the other one and its layers: $(cat gc.out)"
echo "store_layers: PASS: $CHECKS checks"
