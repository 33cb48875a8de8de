#!/usr/bin/env bash
# Full disk: the OCI layout (and with it the spool of archive layers) on a
# small tmpfs. A filler file leaves less and less free space, so `ksimg image build` runs out of
# it at every stage in turn (spool, layer blob, config, manifest, index.json). Each run either
# succeeds with the digest of an undisturbed build or exits 1 with ONE stderr line naming
# ENOSPC, the path and the fix; either way `ksimg image check` finds the layout sound, the tag
# is absent or complete, and no temp file is left. Freeing the space, the rerun succeeds.
# Also `ksimg pull` into a full layout. Skips (77) when tmpfs cannot be mounted here.
# Prints `runs N, enospc E, unclear errors 0, corrupt states 0, failed reruns 0`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools jq fallocate tar
scratch full_disk
D="$T/disk"
mkdir -p "$D"
mount -t tmpfs -o size=16m tmpfs "$D" 2>"$T/mount.err" || skip "cannot mount a tmpfs here: $(cat "$T/mount.err")"
LIB_CLEANUP+=("umount '$D'")
runs=0 enospc=0 unclear=0 corrupt=0 failed_reruns=0
declare -A stage=()

random_trees "$T/src" 2
head -c 3000000 /dev/urandom >"$T/src/t1/usr/lib/big"
tar -C "$T/src/t2" -cf "$T/src/t2.tar" .  # an archive layer: its file data goes through the spool
args=(image build --layer "$T/src/t1" --layer "$T/src/t2.tar" --cmd true)
full=("${args[@]}")
mkdir -p "$T/src/tiny/etc" && echo tiny >"$T/src/tiny/etc/tiny"
REF=$("$KSIMG" -q "${args[@]}" --tag img --layout "$T/ref")
need=$(du -sk --apparent-size "$T/ref/blobs" | cut -f1)
echo "reference $REF, ${need} KiB of blobs"

bad() { corrupt=$((corrupt + 1)); echo "CORRUPT: $*" >&2; }

# one_run WHAT [WANT TAG ARGS...]: image build into $D/oci (default: img, REF), then the checks
one_run() {
  local rc=0 lines what=$1 want=${2:-$REF} tag=${3:-img}
  shift $(($# < 3 ? $# : 3))
  runs=$((runs + 1))
  "$KSIMG" -q "${args[@]}" "$@" --tag "$tag" --layout "$D/oci" >"$T/out" 2>"$T/err" || rc=$?
  if [ "$rc" = 0 ]; then
    [ "$(cat "$T/out")" = "$want" ] || bad "$what: printed $(cat "$T/out")"
  else
    enospc=$((enospc + 1))
    case "$(cat "$T/err")" in  # which write ran out of space
      *"spool file"*) stage[spool]=1 ;; *"blob.tmp-"*) stage[blob]=1 ;; *"index.json"*) stage[index]=1 ;;
      *) stage[other]=1; echo "$what: $(cat "$T/err")" ;;
    esac
    lines=$(wc -l <"$T/err")
    if [ "$rc" != 1 ] || [ "$lines" != 1 ] || ! grep -q 'No space left on device' "$T/err" ||
      ! grep -qF "$D/oci" "$T/err" || ! grep -q 'free space' "$T/err"; then
      unclear=$((unclear + 1))
      echo "UNCLEAR ($what, exit $rc, $lines lines): $(cat "$T/err")" >&2
    fi
  fi
  if [ -e "$D/oci/index.json" ]; then
    layout_ok "$D/oci" || bad "$what: image check: $(cat "$T/check.out" "$T/check.err")"
    local d
    d=$(tag_digest "$D/oci" "$tag")
    [ -z "$d" ] || [ "$d" = "$want" ] || bad "$what: $tag points at $d"
    [ "$tag" = img ] || [ "$(tag_digest "$D/oci" img)" = "$REF" ] || bad "$what: tag img lost"
    [ -z "$(find "$D/oci" -name '*.tmp-*' -o -path "$D/oci/.ksimg-tmp/*")" ] || bad "$what: temp files left"
  fi
}

echo "== less and less free space"
total_k=$(df -k --output=avail "$D" | tail -1)
for free_k in $(seq $((need + 1536)) -160 0); do
  rm -rf "$D/oci" "$D/filler"
  fallocate -l $(((total_k - free_k) * 1024)) "$D/filler" 2>/dev/null || true
  one_run "free ${free_k} KiB"
done
# A tiny layer and a new config: only small writes (layer, config, manifest, index.json) need
# space, and the image tagged before must survive them.
rm -rf "$D/oci" "$D/filler"
"$KSIMG" -q "${args[@]}" --tag img --layout "$D/oci" >/dev/null
for free_k in $(seq 0 4 24); do
  rm -f "$D/filler"
  fallocate -l $(((total_k - free_k) * 1024 - $(du -sk "$D/oci" | cut -f1) * 1024)) "$D/filler" 2>/dev/null || true
  want=$("$KSIMG" -q image build --layer "$T/src/tiny" --env "FREE=$free_k" --tag x --layout "$T/ref")
  args=(image build --layer "$T/src/tiny")
  one_run "small writes, free ${free_k} KiB" "$want" "x$free_k" --env "FREE=$free_k"
  args=("${full[@]}")
done
ok "$runs runs between $((need + 1536)) and 0 KiB free: $enospc ran out of space (in: ${!stage[*]})"

echo "== free the space: the rerun completes with no cleanup"
rm -rf "$D/oci" "$D/filler"
fallocate -l $(((total_k - need / 2) * 1024)) "$D/filler"
one_run "half the space"
rm -f "$D/filler"
"$KSIMG" -q "${args[@]}" --tag img --layout "$D/oci" >"$T/out" 2>"$T/err" && [ "$(cat "$T/out")" = "$REF" ] ||
  { failed_reruns=$((failed_reruns + 1)); cat "$T/err" >&2; }
layout_ok "$D/oci" || bad "after the rerun: $(cat "$T/check.out")"
ok "after freeing space the rerun gives $REF"

echo "runs $runs, enospc $enospc, unclear errors $unclear, corrupt states $corrupt, failed reruns $failed_reruns"
[ "$enospc" -ge 3 ] || fail "the disk was never full enough to test anything ($enospc ENOSPC runs)"
[ "$unclear" = 0 ] && [ "$corrupt" = 0 ] && [ "$failed_reruns" = 0 ] || fail "full disk handling is broken"
echo "checks $CHECKS"
