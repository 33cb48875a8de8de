#!/usr/bin/env bash
# Layer-building benchmark (bench/README.md says what each row measures): one
# ~600 MB tree turned into a compressed OCI layer by ksimg and by its peers, in one run,
# reported as ratios to ksimg at the same compression. Not a test: timings vary by machine.
#
# Usage: bench/layer.sh [ROOTFS_DIR]
#   Without ROOTFS_DIR an mmdebstrap trixie rootfs (~600 MB) is made once under $BENCH_TMP.
# Env:
#   KSIMG      ksimg binary (default build/ksimg)
#   BENCH_TMP  scratch space, on a disk rather than tmpfs (default /var/tmp/ksimg-bench)
#   ROUNDS     timed rounds (default 3); each round runs every row once, rows interleaved, so
#              a change of machine load hits all rows alike; the table gives medians
#   ROWS       extended regex: run only the rows whose name matches (default: all)
# Needs (as root): hyperfine umoci buildah podman zstd pigz jq, mmdebstrap for the default tree.
set -euo pipefail
cd "$(dirname "$0")/.."
KSIMG=$(realpath "${KSIMG:-build/ksimg}")
BENCH_TMP=${BENCH_TMP:-/var/tmp/ksimg-bench}
ROUNDS=${ROUNDS:-3}
ROWS=${ROWS:-.}
for t in hyperfine umoci buildah podman zstd pigz jq tar; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing (apt-get install $t)" >&2; exit 1; }
done
[ -x "$KSIMG" ] || { echo "bench: no ksimg at $KSIMG (build it, or set KSIMG)" >&2; exit 1; }
mkdir -p "$BENCH_TMP"
ROOTFS=$(realpath "${1:-$BENCH_TMP/rootfs}")
if [ ! -d "$ROOTFS" ]; then
  mirror=${KSIMG_DEBIAN_MIRROR:-$({ grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
            /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } | head -1 | awk '{print $2}')}
  [ -n "$mirror" ] || { echo "bench: no Debian mirror in the apt sources; set KSIMG_DEBIAN_MIRROR" >&2; exit 1; }
  echo "bench: making $ROOTFS with mmdebstrap from $mirror" >&2
  SOURCE_DATE_EPOCH=1700000000 mmdebstrap --variant=minbase \
    --include=build-essential,bc,bison,flex,perl,python3,libssl-dev,libelf-dev,rsync,cpio,kmod,xz-utils,zstd,git,ca-certificates,file \
    trixie "$ROOTFS" "$mirror" >&2
fi

W=$BENCH_TMP/work
O=$W/out
rm -rf "$W"
mkdir -p "$O"
# Private container storage (never the host's), one per tool; the test sandbox's containers.conf.
export CONTAINERS_CONF=$PWD/tests/data/containers.conf
driver=overlay
buildah --root "$W/probe" --runroot "$W/probe-run" --storage-driver overlay from scratch >/dev/null 2>&1 || driver=vfs
buildah --root "$W/probe" --runroot "$W/probe-run" --storage-driver "$driver" rm -a >/dev/null 2>&1 || true
rm -rf "$W/probe" "$W/probe-run"
B="buildah --root $W/sb --runroot $W/sb-run --storage-driver $driver"
P="podman --root $W/sp --runroot $W/sp-run --storage-driver $driver"

# The rows: name | compression | prepare (untimed) | timed command | layout holding the layer
# ("-" for the pipelines, whose size comes from the check pass). Every prepare ends in sync,
# so the previous row's writeback does not land in the next row's time.
names=() comps=() preps=() cmds=() outs=()
row() { [[ $1 =~ $ROWS ]] || return 0; names+=("$1"); comps+=("$2"); preps+=("$3; sync"); cmds+=("$4"); outs+=("$5"); }
row "ksimg gzip" gzip "rm -rf $O/kg" \
  "$KSIMG -q image build --layer $ROOTFS --tag bench --layout $O/kg" "$O/kg"
row "ksimg zstd" zstd "rm -rf $O/kz" \
  "$KSIMG -q image build --compression zstd --layer $ROOTFS --tag bench --layout $O/kz" "$O/kz"
row "umoci insert" gzip "rm -rf $O/ui && umoci init --layout $O/ui && umoci new --image $O/ui:bench" \
  "umoci insert --image $O/ui:bench $ROOTFS /" "$O/ui"
row "umoci repack" gzip \
  "rm -rf $O/ur $W/bundle && umoci init --layout $O/ur && umoci new --image $O/ur:bench && umoci unpack --image $O/ur:bench $W/bundle >/dev/null && cp -a $ROOTFS/. $W/bundle/rootfs/" \
  "umoci repack --image $O/ur:bench $W/bundle" "$O/ur"
row "buildah from scratch + copy + commit" gzip "$B rm -a >/dev/null; rm -rf $O/b" \
  "c=\$($B from scratch) && $B copy --quiet \$c $ROOTFS / && $B commit -q --disable-compression=false \$c oci:$O/b:bench >/dev/null" "$O/b"
row "podman import + push" gzip "$P rmi -a -f >/dev/null 2>&1; rm -rf $O/pg" \
  "tar -C $ROOTFS -cf - . | $P import -q - bench >/dev/null && $P push -q --compression-format gzip bench oci:$O/pg:bench" "$O/pg"
row "podman import + push (zstd)" zstd "$P rmi -a -f >/dev/null 2>&1; rm -rf $O/pz" \
  "tar -C $ROOTFS -cf - . | $P import -q - bench >/dev/null && $P push -q --compression-format zstd bench oci:$O/pz:bench" "$O/pz"
row "bound: tar | pigz -6 | sha256sum" gzip ":" \
  "tar --sort=name -C $ROOTFS -cf - . | pigz -6 | sha256sum >/dev/null" -
row "bound: tar | zstd -3 -T2 | sha256sum" zstd ":" \
  "tar --sort=name -C $ROOTFS -cf - . | zstd -q -3 -T2 | sha256sum >/dev/null" -
n=${#names[@]}
[ "$n" -gt 0 ] || { echo "bench: ROWS='$ROWS' selects no row" >&2; exit 1; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
size=$(du -sb "$ROOTFS" | cut -f1)
entries=$(find "$ROOTFS" | wc -l)
echo "bench: tree $ROOTFS: $((size / 1048576)) MiB, $entries entries; $(nproc) cores; storage driver $driver" >&2

# Check pass (untimed; also warms the page cache): every row must leave one compressed layer
# of the expected media type; its size goes in the table.
layer_of() {  # LAYOUT -> "mediaType size path" of the image's last layer
  local m
  m=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$1/index.json")
  jq -r --arg d "$1/blobs/sha256/" '.layers[-1] | "\(.mediaType) \(.size) \($d)\(.digest | sub("sha256:"; ""))"' \
    "$1/blobs/sha256/$m"
}
declare -A magic=([gzip]=1f8b [zstd]=28b52ffd)
sizes=()
for ((i = 0; i < n; i++)); do
  bash -c "${preps[i]}" >/dev/null
  if [ "${outs[i]}" = - ]; then
    sizes+=("$(bash -o pipefail -c "${cmds[i]/sha256sum >\/dev\/null/wc -c}")")
    continue
  fi
  bash -o pipefail -c "${cmds[i]}" >/dev/null || { echo "bench: '${names[i]}' failed" >&2; exit 1; }
  read -r mt sz blob < <(layer_of "${outs[i]}")
  head=$(head -c 4 "$blob" | od -An -tx1 | tr -d ' \n')
  if [[ $mt != *"+${comps[i]}" || $head != "${magic[${comps[i]}]}"* ]]; then
    echo "bench: '${names[i]}' made a $mt layer starting $head, not ${comps[i]}" >&2
    exit 1
  fi
  sizes+=("$sz")
  echo "bench: checked ${names[i]}: $mt, $sz bytes" >&2
done

# Timed rounds: hyperfine runs each row once per round, in row order, after its prepare. The
# machine is shared, so each prepare ends by waiting (QUIET_WAIT s at most) until other
# processes use less than 0.2 cores, and each timed command records /proc/stat around itself,
# which gives the CPU that other processes took during the run ("others" in the table).
QUIET_WAIT=${QUIET_WAIT:-90}
cat >"$W/quiet" <<'SH'
#!/bin/bash
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
hz=$(getconf CLK_TCK)
for ((t = 0; t < $1; t += 2)); do
  a=$(busy); sleep 1; b=$(busy)
  [ $((b - a)) -lt $((hz / 5)) ] && exit 0
  sleep 1
done
echo "bench: the machine stayed busy for $1 s; timing anyway" >&2
SH
chmod +x "$W/quiet"
mkdir -p "$W/stat"
for ((r = 1; r <= ROUNDS; r++)); do
  args=()
  for ((i = 0; i < n; i++)); do args+=(--prepare "${preps[i]}; $W/quiet $QUIET_WAIT"); done
  for ((i = 0; i < n; i++)); do
    args+=(-n "${names[i]}"
      "set -o pipefail; cat /proc/stat >$W/stat/$r.$i.a; ${cmds[i]}; rc=\$?; cat /proc/stat >$W/stat/$r.$i.b; exit \$rc")
  done
  echo "bench: round $r/$ROUNDS, load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  hyperfine --shell bash --runs 1 --style basic --export-json "$W/round$r.json" "${args[@]}" >&2
  for ((i = 0; i < n; i++)); do
    awk -v hz="$(getconf CLK_TCK)" '/^cpu /{b[FILENAME]=$2+$3+$4+$7+$8+$9}
      END{print (b[ARGV[2]] - b[ARGV[1]]) / hz}' "$W/stat/$r.$i.a" "$W/stat/$r.$i.b"
  done | jq -s . >"$W/busy$r.json"  # all CPU seconds used during each run, ours included
  echo "bench: round $r/$ROUNDS, load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# Table: per row, the fastest of the rounds (the least disturbed by other work) and the median.
# "÷ ksimg" divides the fastest wall time by ksimg's fastest at the same compression.
printf '%s\n' "${names[@]}" >"$W/names"
printf '%s\n' "${comps[@]}" >"$W/comps"
printf '%s\n' "${sizes[@]}" >"$W/sizes"
for ((r = 1; r <= ROUNDS; r++)); do
  jq --slurpfile busy "$W/busy$r.json" '[.results | to_entries[] | .value + {busy: $busy[0][.key]}]' "$W/round$r.json"
done >"$W/rounds.json"
jq -rn --rawfile names "$W/names" --rawfile comps "$W/comps" --rawfile sizes "$W/sizes" '
  def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def r2: . * 100 | round / 100;
  def r1: . * 10 | round / 10;
  [inputs] as $rs
  | ($names | rtrimstr("\n") | split("\n")) as $n | ($comps | rtrimstr("\n") | split("\n")) as $c
  | ($sizes | rtrimstr("\n") | split("\n") | map(tonumber)) as $sz
  | [range(0; $n | length) as $i
     | ([$rs[][$i]] | min_by(.mean)) as $best
     | {name: $n[$i], comp: $c[$i], size: $sz[$i], wall: $best.mean, median: ([$rs[][$i].mean] | med),
        cpu: ($best.user + $best.system), others: ([$best.busy - $best.user - $best.system, 0] | max)}] as $rows
  | ($rows | map(select(.name | startswith("ksimg ")) | {(.comp): .wall}) | add // {}) as $k
  | "| row | layer | wall s | median s | user+sys s | cores busy | others | ÷ ksimg |",
    "|---|---|---:|---:|---:|---:|---:|---:|",
    ($rows[] | "| \(.name | gsub("[|]"; "\\|")) | \(.comp), \(.size / 1e5 | round / 10) MB | \(.wall | r2) | \(.median | r2) "
       + "| \(.cpu | r1) | \(.cpu / .wall | r2) | \(.others / .wall | r2) | "
       + (if $k[.comp] then "\(.wall / $k[.comp] | r2)" else "–" end) + " |")
  ' "$W/rounds.json" >"$BENCH_TMP/layer.md"
# The load goes with the table: figures from a busy machine are not a quiet machine's.
printf '\n%s rounds on %s cores; load average (1/5/15 min) at the start %s, at the end %s.\n' \
  "$ROUNDS" "$(nproc)" "$load_start" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$BENCH_TMP/layer.md"
cat "$BENCH_TMP/layer.md"
echo "bench: fastest and median of $ROUNDS rounds; load at the end: $load_end; raw results in $W/rounds.json" >&2
# The blobs and container storage are big; the rounds' JSON stays for inspection.
$B rm -a >/dev/null 2>&1 || true
$P rmi -a -f >/dev/null 2>&1 || true
rm -rf "$O" "$W/bundle" "$W/sb" "$W/sb-run" "$W/sp" "$W/sp-run"
