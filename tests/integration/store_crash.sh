#!/usr/bin/env bash
# kill -9 of `ksimg store checkout` at random points while it creates the repo, imports layers into the tree store
# and checks the image out: after every kill `ostree fsck` accepts the repo and `ksimg store
# fsck` finds nothing; a layer ref only ever names a complete commit; the next run sweeps the
# killed run's temp dirs, finishes the image and its checkout matches the layers' files.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools ostree
run_dir store_crash
cd "$T"
export KSIMG_STORE="$T/store"
random_trees "$T/src" 3
for i in 1 2 3; do for j in $(seq 40); do head -c 200000 /dev/urandom >"$T/src/t$i/usr/lib/f$j"; done; done
"$KSIMG" -q image build --layer "$T/src/t1" --layer "$T/src/t2" --layer "$T/src/t3" --tag crash --layout "$T/oci" \
  >/dev/null || fail "image build"

kills=0
for delay in 0.01 0.03 0.05 0.15 0.3 0.5 0.8 1.2; do  # the first ones land in the repo creation
  "$KSIMG" -q store checkout --layout "$T/oci" --tag crash >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  if [ -f "$KSIMG_STORE/repo/config" ]; then
    ostree fsck --repo="$KSIMG_STORE/repo" >fsck.out 2>&1 || fail "ostree fsck after a kill at ${delay}s: $(cat fsck.out)"
    "$KSIMG" -q store fsck >sfsck.out || fail "store fsck after a kill at ${delay}s: $(cat sfsck.out)"
  fi
done
ok "$kills kill -9 during import/checkout; ostree fsck and store fsck pass after each"

"$KSIMG" -q store checkout --layout "$T/oci" --tag crash >co.out 2>co.err || { cat co.err; fail "the next run"; }
R=$(cat co.out)
for i in 1 2 3; do cmp -s "$T/src/t$i/usr/lib/lib$i.so" "$R/usr/lib/lib$i.so" || fail "lib$i.so differs"; done
for j in $(seq 40); do cmp -s "$T/src/t3/usr/lib/f$j" "$R/usr/lib/f$j" || fail "f$j is not the top layer's"; done
[ "$(cat "$R/etc/t2")" = "tree 2" ] || fail "etc/t2"
ok "the next run completes the image; its checkout holds every layer's files"
left=$(find "$KSIMG_STORE/tmp" -mindepth 1 -maxdepth 1 ! -name '*.lock' 2>/dev/null | wc -l)
[ "$left" = 0 ] || fail "temp dirs left after the next run: $(ls "$KSIMG_STORE/tmp")"
ostree fsck --repo="$KSIMG_STORE/repo" >/dev/null 2>&1 || fail "ostree fsck at the end"
ok "killed runs' temp dirs were swept; ostree fsck passes"
echo "store_crash: PASS: $CHECKS checks"
