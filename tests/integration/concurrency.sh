#!/usr/bin/env bash
# Concurrency: many ksimg processes at once on one OCI layout, and on one
# registry. Each round starts 8 `ksimg image build`s together (the same image under one tag
# three times, the same image under two tags, images that share layers, an unrelated one) into
# one fresh layout; then 6 `ksimg push`es together (the same image to one repository three
# times, other images and repositories) sharing one images.lock.json. Every process must finish
# within its timeout (no deadlock) with the digest of a serial run; afterwards `ksimg image
# check` finds the layout sound, index.json has every tag exactly once, no temp file is left,
# the registry serves every pushed tag completely and the images lock pins every tag.
# Opt-in (KSIMG_CONCURRENCY_CELLS=1, minutes): 3 `ksimg build --cell` at once (k4/mipsel twice,
# k4/arm64) into one layout and one hard-linked copy of a warm cache, against serial builds.
# Prints `rounds R, processes P, wrong results 0, deadlocks 0, leftovers 0`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools jq curl timeout
scratch concurrency
ROUNDS=${KSIMG_CONCURRENCY_ROUNDS:-3}
procs=0 wrong=0 deadlocks=0 leftovers=0

random_trees "$T/src" 4
for i in 1 2 3 4; do head -c 2000000 /dev/urandom >"$T/src/t$i/usr/lib/big$i"; done
# tag -> layers (the same layer sources give the same digests)
declare -A LAYERS=([a]="t1 t2" [a2]="t1 t2" [b]="t1 t3" [c]="t4" [d]="t2 t3 t4")
# the processes of one round, by tag: 'a' three times, the rest once
RUN=(a a a a2 b c d b)
build() {  # build TAG LAYOUT
  local args=() l
  for l in ${LAYERS[$1]}; do args+=(--layer "$T/src/$l"); done
  "$KSIMG" -q image build "${args[@]}" --cmd true --tag "$1" --layout "$2"
}
declare -A REF
for t in "${!LAYERS[@]}"; do REF[$t]=$(build "$t" "$T/ref"); done
[ "${REF[a]}" = "${REF[a2]}" ] || fail "the same layers under two tags gave two digests"
ok "serial reference: ${#REF[@]} images"

wrong_result() { wrong=$((wrong + 1)); echo "WRONG: $*" >&2; }

# run_all NAME CMD-PER-LINE-FILE: starts every line at once (each under timeout), waits for all
run_all() {
  local name=$1 n=0 pids=() line rc
  while read -r line; do
    n=$((n + 1))
    timeout "${RUN_TIMEOUT:-120}" bash -c "$line" >"$T/$name.$n.out" 2>"$T/$name.$n.err" &
    pids+=($!)
  done <"$2"
  procs=$((procs + n))
  n=0
  for p in "${pids[@]}"; do
    n=$((n + 1))
    rc=0
    wait "$p" || rc=$?
    if [ "$rc" = 124 ]; then deadlocks=$((deadlocks + 1)); echo "TIMEOUT: $name.$n" >&2; fi
    [ "$rc" = 0 ] || wrong_result "$name.$n exited $rc: $(tail -2 "$T/$name.$n.err")"
  done
}

for r in $(seq "$ROUNDS"); do
  L="$T/oci$r"
  : >"$T/b$r.cmds"
  for t in "${RUN[@]}"; do
    args=""
    for l in ${LAYERS[$t]}; do args+=" --layer $T/src/$l"; done
    echo "'$KSIMG' -q image build$args --cmd true --tag $t --layout $L" >>"$T/b$r.cmds"
  done
  run_all "b$r" "$T/b$r.cmds"
  n=0
  for t in "${RUN[@]}"; do
    n=$((n + 1))
    [ "$(cat "$T/b$r.$n.out")" = "${REF[$t]}" ] || wrong_result "round $r: build of $t printed $(cat "$T/b$r.$n.out")"
  done
  layout_ok "$L" || wrong_result "round $r: image check: $(cat "$T/check.out")"
  for t in "${!LAYERS[@]}"; do
    [ "$(tag_digest "$L" "$t")" = "${REF[$t]}" ] || wrong_result "round $r: index.json gives $t as $(tag_digest "$L" "$t")"
  done
  dup=$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$L/index.json" | sort | uniq -d)
  [ -z "$dup" ] || wrong_result "round $r: tags listed twice in index.json: $dup"
  [ "$(jq '.manifests | length' "$L/index.json")" = "${#LAYERS[@]}" ] || wrong_result "round $r: index.json entries"
  left=$(find "$L" -name '*.tmp-*' -o -path "$L/.ksimg-tmp/*" | wc -l)
  [ "$left" = 0 ] || { leftovers=$((leftovers + left)); echo "LEFTOVER: $(find "$L" -name '*.tmp-*')" >&2; }
done
ok "image build: $ROUNDS rounds of ${#RUN[@]} processes on one layout"

echo "== concurrent pushes to one registry, one images lock"
L="$T/oci1"
REG=$(start_registry "$T/reg")
export KSIMG_IMAGES_LOCK="$T/images.lock.json"
PUSH=("a ns1" "a ns1" "a ns1" "b ns1" "c ns2" "d ns3" "a2 ns2")
for r in $(seq "$ROUNDS"); do
  : >"$T/p$r.cmds"
  for p in "${PUSH[@]}"; do
    set -- $p
    echo "'$KSIMG' -q push --tag $1 --to 127.0.0.1:$REG/r$r$2 --layout $L --json" >>"$T/p$r.cmds"
  done
  run_all "p$r" "$T/p$r.cmds"
  n=0
  for p in "${PUSH[@]}"; do
    n=$((n + 1))
    set -- $p
    got=$(jq -r '.[0].digest' "$T/p$r.$n.out" 2>/dev/null) || got=""
    [ "$got" = "${REF[$1]}" ] || wrong_result "round $r: push of $1 gave '$got'"
    m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://127.0.0.1:$REG/v2/r$r$2/kernelsmith/manifests/$1") || { wrong_result "r$r$2:$1 missing"; continue; }
    [ "sha256:$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)" = "${REF[$1]}" ] || wrong_result "r$r$2:$1 differs"
    for b in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$REG/v2/r$r$2/kernelsmith/blobs/$b")" = 200 ] ||
        wrong_result "r$r$2:$1 lacks blob $b"
    done
  done
  for t in a a2 b c d; do
    [ "$(jq -r --arg t "$t" '.images[$t].digest' "$KSIMG_IMAGES_LOCK")" = "${REF[$t]}" ] ||
      wrong_result "round $r: images.lock.json does not pin $t"
  done
  left=$(find "$T" -maxdepth 1 -name 'images.lock.json.*' | wc -l)
  leftovers=$((leftovers + left))
done
layout_ok "$L" || wrong_result "the layout after pushing: $(cat "$T/check.out")"
ok "push: $ROUNDS rounds of ${#PUSH[@]} processes on one registry"

# Opt-in (minutes, not CI): cell images from a warm cache, KSIMG_CONCURRENCY_CELLS=1. The cache
# (KSIMG_WARM_CACHE, default ~/.cache/ksimg) is hard-linked, so the test never writes into it.
WARM=${KSIMG_WARM_CACHE:-$HOME/.cache/ksimg}
KB=${KSIMG_KBUILD:-${KSIMG_BUILD_DIR:-}/kbuild}
if [ -z "${KSIMG_CONCURRENCY_CELLS:-}" ]; then
  echo "(cell builds skipped: set KSIMG_CONCURRENCY_CELLS=1 to run 3 cell builds at once from a warm cache)"
elif [ ! -d "$WARM/sha256" ] || [ ! -x "$KB" ]; then
  echo "(cell builds skipped: no warm cache at $WARM or no kbuild at $KB)"
else
  echo "== cell builds at once: k4/mipsel twice and k4/arm64, one layout, one cache"
  cp -al "$WARM" "$T/cache" && rm -rf "$T/cache/ccache"
  cd "$KSIMG_SRC"  # the committed lock
  export KSIMG_CACHE="$T/cache" KSIMG_KBUILD="$KB"
  for c in k4/mipsel k4/arm64; do
    REF[$c]=$("$KSIMG" -q build --cell "$c" --no-smoke --layout "$T/cells-ref" | cut -d' ' -f2)
  done
  printf '%s\n' "'$KSIMG' -q build --cell k4/mipsel --no-smoke --layout $T/cells" \
    "'$KSIMG' -q build --cell k4/mipsel --no-smoke --layout $T/cells" \
    "'$KSIMG' -q build --cell k4/arm64 --no-smoke --layout $T/cells" >"$T/c.cmds"
  RUN_TIMEOUT=1200 run_all c "$T/c.cmds"
  n=0
  for c in k4/mipsel k4/mipsel k4/arm64; do
    n=$((n + 1))
    [ "$(cut -d' ' -f2 "$T/c.$n.out")" = "${REF[$c]}" ] || wrong_result "cell $c: $(cat "$T/c.$n.out")"
  done
  layout_ok "$T/cells" || wrong_result "cells layout: $(cat "$T/check.out")"
  left=$(find "$T/cells" "$T/cache/tmp" -name '*.tmp-*' -o -path "$T/cells/.ksimg-tmp/*" | wc -l)
  leftovers=$((leftovers + left))
  cd "$T"
  ok "3 cell builds at once give the serial digests"
fi

echo "rounds $ROUNDS, processes $procs, wrong results $wrong, deadlocks $deadlocks, leftovers $leftovers"
[ "$wrong" = 0 ] && [ "$deadlocks" = 0 ] && [ "$leftovers" = 0 ] || fail "concurrency broke something"
echo "checks $CHECKS"
