# Shared helpers for integration tests (sourced, not a test itself): skip/fail/ok with a check
# counter, a fresh scratch dir, processes to stop on exit, a private podman storage under a
# short path, the Debian mirror from the host's apt sources, and the layout check.
# Usage: source "$(dirname "$0")/lib.bash"; scratch NAME; ...; echo "checks $CHECKS"
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"

CHECKS=0
LIB_PIDS=()      # started in the background by this test; killed on exit
LIB_CLEANUP=()   # commands run on exit (after the kills)
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS: $*"; }

lib_exit() {
  local p c
  for p in "${LIB_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${LIB_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for c in "${LIB_CLEANUP[@]}"; do eval "$c" || true; done
  if declare -F cleanup >/dev/null; then cleanup; fi  # registry_lib.bash's, when sourced first
}
trap lib_exit EXIT

# need_tools TOOL...: skip unless every tool is on PATH
need_tools() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps installs it)"; done
}

# scratch NAME: a fresh $KSIMG_TESTS_TMP/NAME, exported as T, and cd into it
scratch() {
  T="$KSIMG_TESTS_TMP/$1"
  rm -rf "$T" && mkdir -p "$T" && cd "$T" || fail "cannot create $T"
  export T
}

# track PID: kill it when the test exits
track() { LIB_PIDS+=("$1"); }

# podman_storage: private podman storage under a short /tmp path (podman is slow with long ones)
podman_storage() {
  local s
  s=$(mktemp -d /tmp/ksL.XXXXXX)
  export CONTAINERS_CONF="$KSIMG_SRC/tests/data/containers.conf"
  printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/g"\nrunroot = "%s/r"\n' "$s" "$s" >"$s/storage.conf"
  export CONTAINERS_STORAGE_CONF="$s/storage.conf"
  LIB_CLEANUP+=("podman rmi -af >/dev/null 2>&1; rm -rf '$s'")
}

# debian_mirror: prints the Debian archive root from KSIMG_DEBIAN_MIRROR or the host's apt sources
debian_mirror() {
  local m
  m=$({ grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
          /etc/apt/sources.list 2>/dev/null || true; } | head -1 | awk '{print $2}')
  echo "${KSIMG_DEBIAN_MIRROR:-$m}"
}

# layout_ok LAYOUT: `ksimg image check` finds no problem (its output is kept in $T/check.out)
layout_ok() {
  "$KSIMG" -q image check --layout "$1" >"$T/check.out" 2>"$T/check.err"
}

# tag_digest LAYOUT TAG: the manifest digest index.json gives the tag ("" when untagged)
tag_digest() {
  jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' \
    "$1/index.json"
}

# random_trees DIR N: N small trees DIR/t1..tN of random files (a layer source each)
random_trees() {
  local d=$1 n=$2 i
  for i in $(seq "$n"); do
    mkdir -p "$d/t$i/usr/lib" "$d/t$i/etc"
    head -c $((600000 + i * 1000)) /dev/urandom >"$d/t$i/usr/lib/lib$i.so"
    echo "tree $i" >"$d/t$i/etc/t$i"
  done
}

# need_debian SUITE: exports KSIMG_DEBIAN_MIRROR (debian_mirror); skips unless that archive
# answers for dists/SUITE/InRelease
need_debian() {
  KSIMG_DEBIAN_MIRROR=$(debian_mirror)
  export KSIMG_DEBIAN_MIRROR
  [ -n "$KSIMG_DEBIAN_MIRROR" ] || skip "no Debian mirror in the host's apt sources (or KSIMG_DEBIAN_MIRROR)"
  curl -sfI --max-time 20 "$KSIMG_DEBIAN_MIRROR/dists/$1/InRelease" >/dev/null \
    || skip "the Debian archive is unreachable from here ($KSIMG_DEBIAN_MIRROR, $1)"
}

# run_dir NAME: a fresh $KSIMG_TESTS_TMP/NAME.run.XXXXXX, exported as T, removed on exit (unlike
# scratch, several runs of the test may coexist)
run_dir() {
  mkdir -p "$KSIMG_TESTS_TMP"
  T=$(mktemp -d "$KSIMG_TESTS_TMP/$1.run.XXXXXX") || fail "cannot create a run dir under $KSIMG_TESTS_TMP"
  export T
  LIB_CLEANUP+=("rm -rf '$T'")
}

# shared_layer_cache: the cells_build test's download/layer cache as KSIMG_CACHE, so the
# kernel-building tests build their cell images from the same cached layers
shared_layer_cache() {
  export KSIMG_CACHE="$KSIMG_TESTS_TMP/cells_build/cache"
  mkdir -p "$KSIMG_CACHE"
}

# need_static_server: skips unless the ksimg_static_server test program is built
need_static_server() {
  STATIC_SERVER=${KSIMG_STATIC_SERVER:-${KSIMG_BUILD_DIR:?}/ksimg_static_server}
  [ -x "$STATIC_SERVER" ] || skip "no $STATIC_SERVER (build the ksimg_static_server target)"
}

# static_server DIR: serves DIR on 127.0.0.1 (requests logged to $T/server.log) until the test
# exits; sets STATIC_URL to its http://127.0.0.1:PORT
static_server() {
  need_static_server
  rm -f "$T/port"
  "$STATIC_SERVER" "$1" --log "$T/server.log" >"$T/port" &
  track $!
  local _
  for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
  [ -s "$T/port" ] || fail "ksimg_static_server did not start on $1"
  STATIC_URL="http://127.0.0.1:$(head -1 "$T/port")"
}
