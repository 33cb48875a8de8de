#!/usr/bin/env bash
# `ksimg kbuild` against bare `make` with the same toolchain and config (issue 6 item 8):
#
#   bench/kbuild.sh            # as root or rootless; e.g. KSIMG=build/ksimg JOBS=2 bench/kbuild.sh
#
# Both build Linux 5.10.223 for k4/mipsel from the same tree (Debian's linux-source-5.10, the
# scripts/make-kernel-mirror fixture, extracted once) inside the same k4-mipsel image:
#   bare   podman run IMAGE: make O=... ARCH=mips CROSS_COMPILE=mipsel-linux-gnu- olddefconfig vmlinux
#          with the .config ksimg kbuild produced (so the config is identical);
#   ksimg  ksimg kbuild 5.10.223 --arch mipsel --source TREE <config flags> --targets vmlinux,
#          cold (empty build dir and an empty ccache dir), then again with nothing changed.
# Rows run bare, ksimg, bare, ksimg ... (ROUNDS, default 1) so a change in machine load hits
# both; each timed run waits (up to QUIET_WAIT s, default 60) for the machine to go quiet.
# Figures: wall-time ratio ksimg/bare (target <= 1.03) and cold/no-change (target >= 5x).
# Environment: KSIMG (default build/ksimg), BENCH_TMP (default /var/tmp/ksimg-bench-kbuild),
# KSIMG_LAYOUT (default BENCH_TMP/oci),
# CONFIG_FLAGS (default: tinyconfig + Malta + MIPS32r2; e.g. "--defconfig malta_defconfig"),
# JOBS (default: nproc), ROUNDS, QUIET_WAIT, KSIMG_KERNEL_DEBS (where the .deb is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
KSIMG=${KSIMG:-build/ksimg}
KSIMG=$(realpath "$KSIMG")
B=${BENCH_TMP:-/var/tmp/ksimg-bench-kbuild}
JOBS=${JOBS:-$(nproc)}
ROUNDS=${ROUNDS:-1}
read -r -a CONFIG_FLAGS <<<"${CONFIG_FLAGS:---defconfig tinyconfig --enable MIPS_MALTA --enable CPU_MIPS32_R2}"
die() { echo "bench: $*" >&2; exit 1; }
for t in podman skopeo jq; do command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps)"; done
mkdir -p "$B"
export KSIMG_LAYOUT=${KSIMG_LAYOUT:-$B/oci}   # the image's tag goes here, not into the user's layout

# podman: the test sandbox's settings and a private storage on a short path.
S=$(mktemp -d /tmp/ksb.XXXXXX)
trap 'podman rmi -af >/dev/null 2>&1 || true; rm -rf "$S"' EXIT
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
# The image, into podman (built from the lock when the layout lacks it).
"$KSIMG" build --cell k4/mipsel --no-smoke --load --lock "$SRC/ksimg.lock.json" >/dev/null
image=localhost/kernelsmith:k4-mipsel

quiet() {  # waits until other processes use under 0.3 cores (or QUIET_WAIT s pass)
  local end=$(( $(date +%s) + ${QUIET_WAIT:-60} )) a b
  while [ "$(date +%s)" -lt "$end" ]; do
    a=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat); sleep 2; b=$(awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat)
    [ $(( (b - a) * 10 / 200 )) -lt 3 ] && return 0   # jiffies at 100 Hz over 2 s, in tenths of a core
  done
}
now() { date +%s.%N; }
kb=(kbuild 5.10.223 --arch mipsel --source "$tree" "${CONFIG_FLAGS[@]}" --targets vmlinux -j "$JOBS")

# The config both use: ksimg kbuild's config step alone. An --enable of a symbol no tree has
# stops kbuild right after it ("did not stick", exit 2), with the .config in the build dir.
if [ ! -s "$B/config" ]; then
  rc=0; "$KSIMG" "${kb[@]}" --enable KSIMG_BENCH_STOP -o "$B/cfg" --ccache-dir "$B/cfg-cc" >"$B/cfg.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] && [ -s "$B/cfg/build/.config" ] || die "ksimg kbuild's config step failed (see $B/cfg.log)"
  cp "$B/cfg/build/.config" "$B/config"
fi

bare() {
  rm -rf "$B/bare" && mkdir -p "$B/bare" && cp "$B/config" "$B/bare/.config"
  podman run --rm --network=none -v "$tree:/src:ro" -v "$B/bare:/out:rw" "$image" sh -c \
    "make -s -C /src O=/out ARCH=mips CROSS_COMPILE=mipsel-linux-gnu- olddefconfig &&
     make -C /src O=/out ARCH=mips CROSS_COMPILE=mipsel-linux-gnu- -j$JOBS vmlinux" >"$B/bare.log" 2>&1
}
ksimg_cold() {
  rm -rf "$B/ksimg" "$B/ksimg-cc"
  "$KSIMG" "${kb[@]}" -o "$B/ksimg" --ccache-dir "$B/ksimg-cc" >"$B/ksimg.log" 2>&1
}
ksimg_again() { "$KSIMG" "${kb[@]}" -o "$B/ksimg" --ccache-dir "$B/ksimg-cc" >"$B/ksimg-again.log" 2>&1; }
timed() { quiet; local t0; t0=$(now); "$@" || die "$1 failed (logs in $B)"; echo "$(now) - $t0" | bc; }

declare -a T_BARE T_KSIMG T_AGAIN
for r in $(seq "$ROUNDS"); do
  T_BARE+=("$(timed bare)")
  T_KSIMG+=("$(timed ksimg_cold)")
  T_AGAIN+=("$(timed ksimg_again)")
  echo "round $r: bare ${T_BARE[-1]}s, ksimg kbuild ${T_KSIMG[-1]}s, no-change rebuild ${T_AGAIN[-1]}s" >&2
done
min() { printf '%s\n' "$@" | sort -g | head -1; }
bb=$(min "${T_BARE[@]}") kk=$(min "${T_KSIMG[@]}") aa=$(min "${T_AGAIN[@]}")
{
  echo "| run | wall s (best of $ROUNDS) |"
  echo "|---|---|"
  echo "| bare make in the image (olddefconfig + vmlinux, -j$JOBS) | $bb |"
  echo "| ksimg kbuild, cold (empty build dir and ccache) | $kk |"
  echo "| ksimg kbuild, nothing changed | $aa |"
  echo
  echo "ratio ksimg/bare: $(echo "scale=3; $kk / $bb" | bc) (target <= 1.03); cold/no-change: $(echo "scale=1; $kk / $aa" | bc)x (target >= 5x)"
  echo "command: bench/kbuild.sh (JOBS=$JOBS ROUNDS=$ROUNDS CONFIG_FLAGS='${CONFIG_FLAGS[*]}'), $(nproc) cores, $(date -u +%F)"
} | tee "$B/kbuild.md"
