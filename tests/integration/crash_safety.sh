#!/usr/bin/env bash
# Crash safety: kill -9 `ksimg image build` (3 layers into a shared layout) and
# `ksimg push` (to a real 127.0.0.1 docker-registry) at random points, many times, and at every
# commit of an image build (before and after each rename, through util/files.cpp's
# KSIMG_CRASH_AT hook). After each kill: `ksimg image check` finds the layout sound, a tag is either absent or the complete image
# (never a partial one), tags set earlier survive, images.lock.json is valid JSON, and every tag
# the registry has resolves to a manifest whose blobs are all there. Then the same command,
# rerun with no cleanup, succeeds with the digest of an undisturbed run.
# Prints `kills N, corrupt states 0, failed reruns 0`. KSIMG_CRASH_KILLS sets the kill count.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools jq curl
scratch crash_safety
KILLS=${KSIMG_CRASH_KILLS:-24}
kills=0 corrupt=0 failed_reruns=0

# Layer sources: random (incompressible) data, so writing a layer takes a measurable while.
random_trees "$T/src" 3
for i in 1 2 3; do head -c 3000000 /dev/urandom >"$T/src/t$i/usr/lib/big$i"; done
build_args=(image build --layer "$T/src/t1" --layer "$T/src/t2" --layer "$T/src/t3" --cmd true)

# The undisturbed result, and how long a build takes here (the kill window).
start=$(date +%s%N)
REF=$("$KSIMG" -q "${build_args[@]}" --tag img --layout "$T/ref")
ms=$((($(date +%s%N) - start) / 1000000 + 20))
echo "reference build: $REF in ${ms} ms"
L="$T/oci"
KEEP=$("$KSIMG" -q image build --layer "$T/src/t1" --tag keep --layout "$L")

corrupt_state() { corrupt=$((corrupt + 1)); echo "CORRUPT after kill $kills: $*" >&2; }

# after_build_kill: the layout is sound, 'img' is absent or complete, 'keep' survived
after_build_kill() {
  layout_ok "$L" || corrupt_state "image check: $(cat "$T/check.out" "$T/check.err")"
  local d
  d=$(tag_digest "$L" img) || { corrupt_state "index.json unreadable"; return; }
  [ -z "$d" ] || [ "$d" = "$REF" ] || corrupt_state "img points at $d, not $REF"
  [ "$(tag_digest "$L" keep)" = "$KEEP" ] || corrupt_state "tag keep lost or changed"
}

# kill_at MS CMD...: runs CMD, kill -9 after MS ms (unless it ended first)
kill_at() {
  local ms=$1
  shift
  "$@" >/dev/null 2>"$T/killed.err" &
  local pid=$!
  sleep "$(printf '0.%03d' "$ms")"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
}

echo "== the detector: image check finds what a bad crash would leave"
cp -a "$T/ref" "$T/bad"
layer=$(jq -r '.layers[0].digest' "$T/bad/blobs/sha256/$(tag_digest "$T/bad" img | cut -d: -f2)" | cut -d: -f2)
truncate -s 1000 "$T/bad/blobs/sha256/$layer"
rc=0; "$KSIMG" image check --layout "$T/bad" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" = 3 ] && grep -q "^problem: tag img layer 1 references sha256:$layer" "$T/bad.out" ||
  fail "image check missed a truncated layer (exit $rc): $(cat "$T/bad.out")"
rm "$T/bad/blobs/sha256/$layer"
rc=0; "$KSIMG" image check --layout "$T/bad" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" = 3 ] && grep -q "missing from blobs/sha256/" "$T/bad.out" || fail "image check missed a missing layer"
layout_ok "$T/ref" || fail "image check refused a sound layout: $(cat "$T/check.out")"
ok "image check: exit 3 for a truncated or missing blob, 0 for a sound layout"

echo "== kill -9 at every commit of an image build (KSIMG_CRASH_AT)"
det=0
for label in commit renamed; do
  for n in $(seq 1 12); do
    rm -rf "$T/det"
    "$KSIMG" -q image build --layer "$T/src/t1" --tag keep --layout "$T/det" >/dev/null
    rc=0
    KSIMG_CRASH_AT="$label:$n" "$KSIMG" -q "${build_args[@]}" --tag img --layout "$T/det" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 0 ] && break  # fewer commits than n: every point of this kind was hit
    [ "$rc" = 137 ] || fail "KSIMG_CRASH_AT=$label:$n: exit $rc, not SIGKILL"
    kills=$((kills + 1)) det=$((det + 1))
    saved_L=$L L="$T/det"
    after_build_kill
    L=$saved_L
    got=$("$KSIMG" -q "${build_args[@]}" --tag img --layout "$T/det" 2>"$T/rerun.err") || got="exit $?"
    [ "$got" = "$REF" ] || { failed_reruns=$((failed_reruns + 1)); echo "rerun: $got $(cat "$T/rerun.err")" >&2; }
  done
done
[ "$det" -ge 10 ] || fail "only $det crash points were hit (this build commits 5 files: 2 of 3 layers are new, config, manifest, index.json)"
ok "$det deterministic crash points (before and after each rename): sound layout, rerun gives $REF"

echo "== kill -9 during image build ($KILLS times)"
for i in $(seq "$KILLS"); do
  # Untag img now and then, so later kills hit a build that has to write index.json again.
  if [ $((i % 3)) = 0 ] && [ -n "$(tag_digest "$L" img)" ]; then
    jq 'del(.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="img"))' "$L/index.json" \
      >"$T/i.json" && mv "$T/i.json" "$L/index.json"
  fi
  kill_at $((RANDOM % (ms > 999 ? 999 : ms))) "$KSIMG" "${build_args[@]}" --tag img --layout "$L"
  after_build_kill
  if [ $((i % 4)) = 0 ]; then  # the rerun; not after every kill, so kills also pile up
    got=$("$KSIMG" -q "${build_args[@]}" --tag img --layout "$L" 2>"$T/rerun.err") || got="exit $?"
    [ "$got" = "$REF" ] || { failed_reruns=$((failed_reruns + 1)); echo "rerun: $got $(cat "$T/rerun.err")" >&2; }
  fi
done
got=$("$KSIMG" -q "${build_args[@]}" --tag img --layout "$L" 2>"$T/rerun.err") || got="exit $?"
[ "$got" = "$REF" ] || { failed_reruns=$((failed_reruns + 1)); cat "$T/rerun.err" >&2; }
layout_ok "$L" || corrupt_state "final image check: $(cat "$T/check.out")"
ok "image build: $kills kills so far, the layout stays sound and the rerun gives $REF"

echo "== kill -9 during push"
REG=$(start_registry "$T/reg")
# registry_complete REPO: every tag of REPO resolves to a manifest whose blobs are all present
registry_complete() {
  local repo=$1 tags t m b
  tags=$(curl -sf "http://127.0.0.1:$REG/v2/$repo/tags/list" | jq -r '.tags // [] | .[]') || return 0
  for t in $tags; do
    m=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
      "http://127.0.0.1:$REG/v2/$repo/manifests/$t") || { corrupt_state "$repo:$t has no manifest"; continue; }
    [ "$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)" = "${REF#sha256:}" ] || corrupt_state "$repo:$t is another manifest"
    for b in $(jq -r '.config.digest, .layers[].digest' <<<"$m"); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$REG/v2/$repo/blobs/$b")" = 200 ] ||
        corrupt_state "$repo:$t needs blob $b, which the registry does not have"
    done
  done
}
start=$(date +%s%N)  # how long an undisturbed push takes here (the kill window)
KSIMG_IMAGES_LOCK="$T/images-0.json" "$KSIMG" -q push --tag img --to "127.0.0.1:$REG/ns0" --layout "$L" >/dev/null
push_ms=$((($(date +%s%N) - start) / 1000000 + 20))
echo "reference push: ${push_ms} ms"
for i in $(seq $((KILLS / 2))); do
  ns="ns$i"  # a new repository each time, so the blobs are uploaded again (no skip, no mount)
  export KSIMG_IMAGES_LOCK="$T/images-$i.json"
  chunk=(); [ $((i % 2)) = 0 ] && chunk=(--chunk-size 1048576)
  push=("$KSIMG" push --tag img --to "127.0.0.1:$REG/$ns" --layout "$L" "${chunk[@]}")
  kill_at $((RANDOM % (push_ms > 999 ? 999 : push_ms))) "${push[@]}"
  registry_complete "$ns/kernelsmith"
  [ ! -e "$KSIMG_IMAGES_LOCK" ] || jq -e . "$KSIMG_IMAGES_LOCK" >/dev/null || corrupt_state "images lock is not JSON"
  "${push[@]}" --json >"$T/push.json" 2>"$T/rerun.err" && [ "$(jq -r '.[0].digest' "$T/push.json")" = "$REF" ] || {
    failed_reruns=$((failed_reruns + 1))
    echo "push rerun: $(cat "$T/rerun.err")" >&2
  }
  registry_complete "$ns/kernelsmith"
  [ "$(jq -r '.images.img.digest' "$KSIMG_IMAGES_LOCK")" = "$REF" ] || corrupt_state "images lock does not pin $REF"
done
layout_ok "$L" || corrupt_state "the layout after the pushes: $(cat "$T/check.out")"
ok "push: the registry only ever names complete images; every rerun pushes $REF"

echo "kills $kills, corrupt states $corrupt, failed reruns $failed_reruns"
[ "$kills" -ge $((KILLS / 2)) ] || fail "only $kills of the kills hit a running ksimg (it ended first)"
[ "$corrupt" = 0 ] && [ "$failed_reruns" = 0 ] || fail "$corrupt corrupt states, $failed_reruns failed reruns"
echo "checks $CHECKS"
