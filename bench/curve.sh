#!/usr/bin/env bash
# The level x slice-size curve behind ksimg's gzip profile (docs/oci.md): libdeflate alone on
# the tar of one tree (the layer bench's tree by default), every slice one gzip member, on
# THREADS threads. Prints "level slice_KiB threads wall_s cpu_s bytes" per point and the load.
# Not a test. Usage: bench/curve.sh [ROOTFS_DIR]
# Env: BENCH_TMP (default /var/tmp/ksimg-bench), THREADS (default 2), LEVELS (default
# 1,3,5,6,7,9), SLICES (KiB, default 1024; e.g. SLICES=256,1024,4096 LEVELS=6).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_TMP=${BENCH_TMP:-/var/tmp/ksimg-bench}
ROOTFS=${1:-$BENCH_TMP/rootfs}
[ -d "$ROOTFS" ] || { echo "curve: no tree at $ROOTFS (bench/layer.sh makes one)" >&2; exit 1; }
mkdir -p "$BENCH_TMP"
g++ -O2 -std=c++20 bench/deflate_curve.cpp -ldeflate -pthread -o "$BENCH_TMP/deflate_curve"
tar --sort=name -C "$ROOTFS" -cf "$BENCH_TMP/curve.tar" .
echo "curve: load before $(cut -d' ' -f1-3 /proc/loadavg); libdeflate $(pkg-config --modversion libdeflate)" >&2
"$BENCH_TMP/deflate_curve" "$BENCH_TMP/curve.tar" "${THREADS:-2}" "${LEVELS:-1,3,5,6,7,9}" "${SLICES:-1024}"
echo "curve: load after $(cut -d' ' -f1-3 /proc/loadavg)" >&2
rm -f "$BENCH_TMP/curve.tar"
