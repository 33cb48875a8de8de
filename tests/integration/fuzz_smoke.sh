#!/usr/bin/env bash
# Bounded libFuzzer run for CI: builds fuzz/ with clang (ASan+UBSan+libFuzzer)
# in $KSIMG_TESTS_TMP/fuzz-build and runs every target for a bounded number of runs (and at most
# FUZZ_SECONDS each). Prints per target the runs done and crashes found; any crash fails the test.
# Longer runs: scripts/fuzz SECONDS (fuzz/README.md).
set -euo pipefail
: "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"
cxx=$(command -v clang++-14 || command -v clang++ || true)
if [[ -z $cxx ]]; then echo "skip: clang++ not installed (apt-get install clang)"; exit 77; fi
if ! command -v ninja >/dev/null; then echo "skip: ninja not installed"; exit 77; fi
work=$KSIMG_TESTS_TMP/fuzz-build
mkdir -p "$work"
start=$SECONDS
rc=0
CXX=$cxx FUZZ_BUILD_DIR=$work FUZZ_WORK=$work/run FUZZ_BUILD_TYPE=Smoke FUZZ_MAX_LEN=4096 \
  FUZZ_RUNS=${FUZZ_RUNS:-20000} "$KSIMG_SRC/scripts/fuzz" "${FUZZ_SECONDS:-12}" >"$work/summary" 2>&1 || rc=$?
cat "$work/summary"
n=$(find "$KSIMG_SRC/fuzz" -maxdepth 1 -name 'fuzz_*.cpp' | wc -l)
runs=$(awk '$2 == "runs" && $3 ~ /^[0-9]+$/ { t += $3 } END { print t + 0 }' "$work/summary")
crashes=$(find "$work/run" -path '*/crashes/*' -type f | wc -l)
echo "fuzz_smoke: $n targets, cases $runs (inputs run), crashes $crashes, $((SECONDS - start)) s including the build"
[[ $rc -eq 0 && $crashes -eq 0 ]]
