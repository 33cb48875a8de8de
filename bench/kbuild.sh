#!/usr/bin/env bash
# `ksimg kbuild` against bare `make` with the same toolchain and config:
#
#   bench/kbuild.sh            # as root or rootless; e.g. KSIMG=build/ksimg JOBS=2 ROUNDS=3 bench/kbuild.sh
#
# Every row builds Linux 5.10.223 for k4/mipsel from the same tree (Debian's linux-source-5.10,
# the scripts/make-kernel-mirror fixture, extracted once) inside the same k4-mipsel image:
#   bare       podman run IMAGE sh -c '<the config commands ksimg runs, typed by hand> && make vmlinux'
#              (make DEFCONFIG, scripts/config for the arch quirk, olddefconfig, scripts/config for
#              the --enable list, olddefconfig: the same make invocations, no wrapper, no ccache);
#              its .config must equal ksimg's, or the bench stops;
#   cold       ksimg kbuild ... --targets vmlinux, empty output dir, empty ccache dir;
#   nocc       the same with --no-ccache, empty output dir;
#   again      the cold command again, nothing changed (incremental);
#   fresh      the cold command into an empty output dir with the cold row's (now warm) ccache dir:
#              what CI gets from a cached ccache dir and a clean checkout;
#   rfill      the cold command (empty output and ccache dirs) with --ccache-remote redis://127.0.0.1:PORT
#              on a flushed redis-server the bench starts: runner A, filling the shared cache;
#   remote     the same into empty output and ccache dirs after rfill: runner B, whose objects
#              come from redis (its hit rate is printed);
#   dry        ksimg kbuild ... --dry-run: the fixed cost (image lookup, podman start, plan).
# Rows interleave per round (ROUNDS, default 3) so a change in machine load hits all of them;
# each timed row first waits (up to QUIET_WAIT s, default 60) for the machine to go quiet.
# Per row: wall seconds; CPU seconds (user+sys: inside the container from `times` for bare and
# metadata.json cpu_seconds for ksimg, plus the host-side client from /usr/bin/time), which a
# shared machine's load barely moves; the config step's and the compile's own seconds. The
# table gives medians. Targets: cold/bare <= 1.03, cold/again >= 5x.
# Environment: KSIMG (default build/ksimg), BENCH_TMP (default /var/tmp/ksimg-bench-kbuild),
# KSIMG_LAYOUT (default BENCH_TMP/oci), CONFIG_FLAGS (default: tinyconfig + Malta + MIPS32r2; a
# --defconfig NAME and --enable SYM words only), ARCH_ENABLES (the arch quirk's symbols, default
# CPU_LITTLE_ENDIAN), JOBS (default: nproc), ROUNDS, ROWS (default "bare cold nocc again fresh rfill
# remote dry"; rfill and remote need redis-server),
# QUIET_WAIT, KSIMG_KERNEL_DEBS (where the .deb is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
KSIMG=$(realpath "${KSIMG:-build/ksimg}")
B=${BENCH_TMP:-/var/tmp/ksimg-bench-kbuild}
JOBS=${JOBS:-$(nproc)}
ROUNDS=${ROUNDS:-3}
read -r -a ROWS <<<"${ROWS:-bare cold nocc again fresh rfill remote dry}"
read -r -a CONFIG_FLAGS <<<"${CONFIG_FLAGS:---defconfig tinyconfig --enable MIPS_MALTA --enable CPU_MIPS32_R2}"
read -r -a ARCH_ENABLES <<<"${ARCH_ENABLES-CPU_LITTLE_ENDIAN}"
die() { echo "bench: $*" >&2; exit 1; }
for t in podman skopeo jq bc /usr/bin/time; do command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps)"; done
mkdir -p "$B"
export KSIMG_LAYOUT=${KSIMG_LAYOUT:-$B/oci}   # the image's tag goes here, not into the user's layout

# podman: the test sandbox's settings and a private storage on a short path.
S=$(mktemp -d /tmp/ksb.XXXXXX)
trap 'podman rmi -af >/dev/null 2>&1 || true; [ -s "$S/redis.pid" ] && kill "$(cat "$S/redis.pid")"; rm -rf "$S"' EXIT
export CONTAINERS_CONF="$SRC/tests/data/containers.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/g"\nrunroot = "%s/r"\n' "$S" "$S" >"$S/storage.conf"
export CONTAINERS_STORAGE_CONF="$S/storage.conf"

# The tree, once.
scripts/make-kernel-mirror "$B/mirror" 5.10.223 >/dev/null
tree="$B/tree-5.10.223"
if [ ! -f "$tree/Makefile" ]; then
  rm -rf "$tree.part" && mkdir -p "$tree.part"
  tar -xJf "$B/mirror/v5.x/linux-5.10.223.tar.xz" -C "$tree.part" --strip-components=1 && mv "$tree.part" "$tree"
fi
# The image, into podman (built from the lock when the layout lacks it, with this build's kbuild).
"$KSIMG" build --cell k4/mipsel --no-smoke --load --lock "$SRC/ksimg.lock.json" >/dev/null
image=localhost/kernelsmith:k4-mipsel

quiet() {  # waits until other processes use under 0.3 cores (or QUIET_WAIT s pass)
  local end=$(( $(date +%s) + ${QUIET_WAIT:-60} )) a b
  while [ "$(date +%s)" -lt "$end" ]; do
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat); sleep 2; b=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
    [ $(( (b - a) * 10 / 200 )) -lt 3 ] && return 0   # jiffies at 100 Hz over 2 s, in tenths of a core
  done
}
kb=(kbuild 5.10.223 --arch mipsel --source "$tree" "${CONFIG_FLAGS[@]}" --targets vmlinux -j "$JOBS")

# The bare row's config commands: CONFIG_FLAGS as ksimg kbuild's config step runs them.
defconfig=; enables=()
set -- "${CONFIG_FLAGS[@]}"
while [ $# -gt 0 ]; do
  case $1 in
    --defconfig) defconfig=$2; shift 2 ;;
    --enable) enables+=("-e" "$2"); shift 2 ;;
    *) die "CONFIG_FLAGS: only --defconfig NAME and --enable SYM are supported by the bare row ($1)" ;;
  esac
done
[ -n "$defconfig" ] || die "CONFIG_FLAGS needs a --defconfig"
M="make -s -C /src O=/out ARCH=mips CROSS_COMPILE=mipsel-linux-gnu-"
cfgcmd="$M $defconfig"
[ ${#ARCH_ENABLES[@]} = 0 ] || cfgcmd+=" && /src/scripts/config --file /out/.config $(printf -- '-e %s ' "${ARCH_ENABLES[@]}") && $M olddefconfig"
[ ${#enables[@]} = 0 ] || cfgcmd+=" && /src/scripts/config --file /out/.config ${enables[*]} && $M olddefconfig"

# One row: runs it, appends "row wall cpu config_s compile_s" to $B/rows.
HT="$B/host-time"
hosttime() { /usr/bin/time -o "$HT" -f '%e %U %S' "$@"; }
meta_row() {  # row, wall: reads the ksimg output dir's metadata.json
  local m="$B/$1/metadata.json"
  jq -e '.status == "succeeded"' "$m" >/dev/null || die "$1: $(jq -c '{status, error}' "$m")"
  read -r e u s <"$HT"
  jq -r --arg r "$1" --argjson e "$e" --argjson h "$(echo "$u + $s" | bc)" \
    '[$r, $e, ((.cpu_seconds // null) | if . == null then "n/a" else ((. + $h) * 10 | round) / 10 end),
      ([.steps[] | select(.name == "config") | .seconds][0] // 0), (.targets.vmlinux.seconds // 0)] | @tsv' "$m"
}
row_bare() {
  rm -rf "$B/bare" && mkdir -p "$B/bare"
  hosttime podman run --rm --network=none -v "$tree:/src:ro" -v "$B/bare:/out:rw" "$image" sh -c \
    "t0=\$(date +%s.%N); $cfgcmd; t1=\$(date +%s.%N); echo \"config \$t0 \$t1\"
     make -C /src O=/out ARCH=mips CROSS_COMPILE=mipsel-linux-gnu- -j$JOBS vmlinux && echo \"compiled \$(date +%s.%N)\" && times" \
    >"$B/bare.log" 2>&1 || die "bare make failed (see $B/bare.log)"
  diff <(grep '^CONFIG_' "$B/bare/.config") <(grep '^CONFIG_' "$B/cold/.config") >/dev/null \
    || die "bare's .config differs from ksimg's ($B/bare/.config, $B/cold/.config): fix ARCH_ENABLES/CONFIG_FLAGS"
  read -r e u s <"$HT"
  awk -v e="$e" -v h="$(echo "$u + $s" | bc)" '
    /^config / {c = $3 - $2; t1 = $3} /^compiled / {v = $2 - t1}
    /^[0-9]+m[0-9.]+s [0-9]+m[0-9.]+s$/ {n++; if (n == 2) {split($1, a, "m"); split($2, b, "m"); cpu = a[1] * 60 + a[2] + b[1] * 60 + b[2]}}
    END {printf "bare\t%s\t%.1f\t%.1f\t%.1f\n", e, cpu + h, c, v}' "$B/bare.log"
}
row_cold() {
  rm -rf "$B/cold" "$B/cold-cc"
  hosttime "$KSIMG" "${kb[@]}" -o "$B/cold" --ccache-dir "$B/cold-cc" >"$B/cold.log" 2>&1 || die "cold failed (see $B/cold.log)"
  meta_row cold
}
row_nocc() {
  rm -rf "$B/nocc"
  hosttime "$KSIMG" "${kb[@]}" -o "$B/nocc" --no-ccache >"$B/nocc.log" 2>&1 || die "nocc failed (see $B/nocc.log)"
  meta_row nocc
}
row_again() {
  hosttime "$KSIMG" "${kb[@]}" -o "$B/cold" --ccache-dir "$B/cold-cc" >"$B/again.log" 2>&1 || die "again failed (see $B/again.log)"
  meta_row cold | sed 's/^cold/again/'
}
row_fresh() {
  rm -rf "$B/fresh"
  hosttime "$KSIMG" "${kb[@]}" -o "$B/fresh" --ccache-dir "$B/cold-cc" >"$B/fresh.log" 2>&1 || die "fresh failed (see $B/fresh.log)"
  meta_row fresh
}
# The shared cache of rfill/remote: a private redis-server on a free 127.0.0.1 port, no persistence.
redis_url=
if [[ " ${ROWS[*]} " == *" rfill "* || " ${ROWS[*]} " == *" remote "* ]]; then
  command -v redis-server >/dev/null || die "redis-server is missing (scripts/install-deps), or drop rfill/remote from ROWS"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$S/redis.pid" --dir "$S" >/dev/null || die "redis-server did not start"
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis_url="redis://127.0.0.1:$port"
fi
remote_row() {  # row: empty output and local ccache dirs, the shared redis cache
  rm -rf "$B/$1" "$B/$1-cc"
  hosttime "$KSIMG" "${kb[@]}" -o "$B/$1" --ccache-dir "$B/$1-cc" --ccache-remote "$redis_url" >"$B/$1.log" 2>&1 ||
    die "$1 failed (see $B/$1.log)"
  podman run --rm --network=none -v "$B/$1-cc:/ccache" -e CCACHE_DIR=/ccache "$image" ccache --print-stats |
    awk -v r="$1" '{v[$1] = $2} END {printf "%s: ccache remote hits %d, local hits %d, misses %d\n", r,
      v["remote_storage_hit"], v["local_storage_hit"], v["cache_miss"]}' >&2
  meta_row "$1"
}
row_rfill() {
  redis-cli -u "$redis_url" flushall >/dev/null
  remote_row rfill
}
row_remote() { remote_row remote; }
row_dry() {
  hosttime "$KSIMG" "${kb[@]}" -o "$B/dry" --no-ccache --dry-run >"$B/dry.log" 2>&1 || die "dry-run failed (see $B/dry.log)"
  read -r e u s <"$HT"
  printf 'dry\t%s\t%.2f\t0\t0\n' "$e" "$(echo "$u + $s" | bc)"
}

# The config both use comes from the first cold row, so a round starts with it when bare runs.
order=("${ROWS[@]}")
if [[ " ${ROWS[*]} " == *" bare "* && ! -s "$B/cold/.config" ]]; then order=(cold "${ROWS[@]/cold}"); fi
: >"$B/rows"
for r in $(seq "$ROUNDS"); do
  for row in "${order[@]}"; do
    [ -n "$row" ] || continue
    quiet
    line=$("row_$row") || exit 1
    echo "$line" >>"$B/rows"
    echo "round $r: $line" | tr '\t' ' ' >&2
  done
  order=("${ROWS[@]}")
done

median() {  # row, column: the median of that column over the row's runs
  awk -F'\t' -v r="$1" -v c="$2" '$1 == r {print $c}' "$B/rows" | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (v[1] == "n/a") print "n/a";
         else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
ratio() { [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && echo "scale=3; $1 / $2" | bc || echo "-"; }
{
  echo "| row | wall s | CPU s (user+sys) | config step s | make vmlinux s | wall ÷ bare | CPU ÷ bare |"
  echo "|---|---|---|---|---|---|---|"
  for row in bare cold nocc again fresh rfill remote dry; do
    [[ " ${ROWS[*]} " == *" $row "* ]] || continue
    w=$(median "$row" 2) c=$(median "$row" 3)
    echo "| $row | $w | $c | $(median "$row" 4) | $(median "$row" 5) | $(ratio "$w" "$(median bare 2)") | $(ratio "$c" "$(median bare 3)") |"
  done
  echo
  echo "medians of $ROUNDS interleaved rounds; cold ÷ again (wall): $(ratio "$(median cold 2)" "$(median again 2)") (target >= 5); cold ÷ fresh (wall): $(ratio "$(median cold 2)" "$(median fresh 2)"); remote ÷ cold (wall): $(ratio "$(median remote 2)" "$(median cold 2)")"
  echo "command: bench/kbuild.sh (JOBS=$JOBS ROUNDS=$ROUNDS CONFIG_FLAGS='${CONFIG_FLAGS[*]}'), $(nproc) cores, $(date -u +%F), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "raw rows: $B/rows (row, wall, cpu, config, vmlinux)"
} | tee "$B/kbuild.md"
