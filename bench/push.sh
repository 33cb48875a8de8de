#!/usr/bin/env bash
# Push benchmark (bench/README.md "push.sh"): a cell image from the OCI layout
# pushed to a local docker-registry by ksimg and by `skopeo copy oci:LAYOUT:TAG docker://...`,
# cold (empty registry) and no-op (everything already there), in one run, as ratios.
# Not a test: timings vary by machine.
#
# Usage: bench/push.sh [TAG]            (default k4-mipsel; it must be in the layout)
# Env:
#   KSIMG      ksimg binary (default build/ksimg)
#   LAYOUT     OCI layout (default $KSIMG_LAYOUT or ~/.local/share/ksimg/oci)
#   BENCH_TMP  scratch space for the registries, on a disk (default /var/tmp/ksimg-bench-push)
#   ROUNDS     rounds (default 3); every round runs the four rows, each on a fresh registry
#              for the cold rows; the table gives the fastest and the median
#   JOBS       ksimg --jobs (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
KSIMG=$(realpath "${KSIMG:-build/ksimg}")
LAYOUT=${LAYOUT:-${KSIMG_LAYOUT:-${XDG_DATA_HOME:-$HOME/.local/share}/ksimg/oci}}
BENCH_TMP=${BENCH_TMP:-/var/tmp/ksimg-bench-push}
ROUNDS=${ROUNDS:-3}
JOBS=${JOBS:-4}
TAG=${1:-k4-mipsel}
for t in skopeo jq curl python3 /usr/bin/docker-registry; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing" >&2; exit 1; }
done
[ -x "$KSIMG" ] || { echo "bench: no ksimg at $KSIMG (build it, or set KSIMG)" >&2; exit 1; }
digest=$(jq -r --arg t "$TAG" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' \
  "$LAYOUT/index.json")
[ -n "$digest" ] || { echo "bench: $LAYOUT has no $TAG; ksimg build --cell ${TAG/-//} first" >&2; exit 1; }
size=$(jq -r '[.config.size] + [.layers[].size] | add' "$LAYOUT/blobs/sha256/${digest#sha256:}")
rm -rf "$BENCH_TMP" && mkdir -p "$BENCH_TMP"
PID=
stop() { [ -z "$PID" ] || kill "$PID" 2>/dev/null || true; PID=; }
trap stop EXIT
fresh_registry() {
  stop
  local dir=$BENCH_TMP/reg-$1
  rm -rf "$dir"
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  scripts/start-registry "$PORT" "$dir" >/dev/null
  PID=$(cat "$dir/registry.pid")
}
now() { date +%s%N; }
declare -A T
run() {  # run ROW CMD...: appends the wall seconds of CMD to T[ROW]
  local row=$1 s
  shift
  sync
  s=$(now)
  "$@" >/dev/null 2>"$BENCH_TMP/last.err" || { cat "$BENCH_TMP/last.err" >&2; echo "bench: $row failed" >&2; exit 1; }
  T[$row]+="$(( ($(now) - s) / 1000000 )) "
}
ks() { "$KSIMG" -q push --tag "$TAG" --to "127.0.0.1:$PORT/bench" --layout "$LAYOUT" --jobs "$JOBS" \
  --images-lock "$BENCH_TMP/images.lock.json"; }
sk() { skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:$TAG" "docker://127.0.0.1:$PORT/bench/kernelsmith:$TAG"; }
for r in $(seq "$ROUNDS"); do
  echo "bench: round $r of $ROUNDS" >&2
  fresh_registry "ks$r"; run "ksimg cold" ks; run "ksimg no-op" ks
  fresh_registry "sk$r"; run "skopeo cold" sk; run "skopeo no-op" sk
done
stop
stats() { tr ' ' '\n' <<<"${T[$1]}" | grep . | sort -n | awk '{a[NR]=$1} END {printf "%.2f %.2f", a[1]/1000, a[int((NR+1)/2)]/1000}'; }
out=$BENCH_TMP/push.md
{
  echo "Image $TAG ($digest), $(( size / 1048576 )) MiB of blobs; $ROUNDS rounds; $(nproc) cores; $(date -u +%F)"
  echo
  echo "| row | fastest s | median s | ÷ ksimg (fastest) |"
  echo "|---|---|---|---|"
  for row in "ksimg cold" "skopeo cold" "ksimg no-op" "skopeo no-op"; do
    read -r best med <<<"$(stats "$row")"
    base=$(stats "ksimg ${row#* }" | cut -d' ' -f1)
    ratio=$(awk -v a="$best" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    echo "| $row | $best | $med | $ratio |"
  done
} | tee "$out"
echo "bench: table in $out" >&2
