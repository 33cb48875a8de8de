# Shared helpers for integration tests (sourced, not a test itself): skip/fail/ok with a check
# counter, a fresh scratch dir, processes to stop on exit, a private podman storage under a
# short path, the Debian mirror from the host's apt sources, the Debian lock probe, the static
# file server, a docker-registry on a free port, and the layout check.
# Usage: source "$(dirname "$0")/lib.bash"; scratch NAME; ...; echo "checks $CHECKS"
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"
[ -z "${KSIMG_LIB_SOURCED:-}" ] || return 0  # registry_lib.bash sources it too
KSIMG_LIB_SOURCED=1

CHECKS=0
# Processes this test started, killed on exit: a file rather than an array, so that servers
# started inside $(...) (to print their port) are recorded too.
LIB_PIDFILE=$(mktemp "${TMPDIR:-/tmp}/ksimg-test-pids.XXXXXX")
LIB_CLEANUP=()   # commands run on exit (after the kills)
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS: $*"; }

# stop_tracked: kills every process track recorded, now
stop_tracked() {
  local p pids=()
  mapfile -t pids <"$LIB_PIDFILE"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  : >"$LIB_PIDFILE"
}

lib_exit() {
  local rc=$? c
  stop_tracked
  rm -f "$LIB_PIDFILE"
  for c in "${LIB_CLEANUP[@]}"; do eval "$c" || true; done
  # a passed or skipped test's scratch dir goes (a full run would otherwise keep gigabytes of
  # stores and layouts); a failed one's stays for a look, as does any with KSIMG_TESTS_KEEP=1
  if [ -n "${LIB_SCRATCH:-}" ] && { [ "$rc" = 0 ] || [ "$rc" = 77 ]; } && [ "${KSIMG_TESTS_KEEP:-0}" != 1 ]; then
    cd / && rm -rf "$LIB_SCRATCH"
  elif [ -n "${LIB_SCRATCH:-}" ] && [ -d "$LIB_SCRATCH" ]; then
    echo "kept for a look: $LIB_SCRATCH" >&2
  fi
}
trap lib_exit EXIT

# expect CODE TEXT CMD...: the command fails with exit CODE and TEXT on stderr (kept in
# ./out.txt and ./err.txt)
expect() {
  local code=$1 text=$2 rc=0
  shift 2
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" = "$code" ] || { cat err.txt; fail "'$*' exited $rc, expected $code"; }
  grep -qF -- "$text" err.txt || { cat err.txt; fail "'$*' did not say '$text'"; }
}

# need_tools TOOL...: skip unless every tool is on PATH
need_tools() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || skip "$t is not installed (scripts/install-deps installs it)"; done
}

# scratch NAME: a fresh $KSIMG_TESTS_TMP/NAME, exported as T, and cd into it; removed on exit
# when the test passes or skips, kept when it fails (or always, with KSIMG_TESTS_KEEP=1)
scratch() {
  T="$KSIMG_TESTS_TMP/$1"
  rm -rf "$T" && mkdir -p "$T" && cd "$T" || fail "cannot create $T"
  LIB_SCRATCH=$T
  export T
}

# track PID: kill it when the test exits
track() { echo "$1" >>"$LIB_PIDFILE"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port FILE: the first line of FILE once a server wrote its port there (up to 5 s)
wait_port() {
  for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.05; done
  head -1 "$1"
}

# podman_storage [DRIVER]: private podman storage (driver overlay unless named) under a short
# /tmp path (podman 4.3 took ~20 s per run with its storage below a long path), removed on exit
podman_storage() {
  local s
  s=$(mktemp -d /tmp/ksL.XXXXXX)
  export CONTAINERS_CONF="$KSIMG_SRC/tests/data/containers.conf"
  printf '[storage]\ndriver = "%s"\ngraphroot = "%s/g"\nrunroot = "%s/r"\n' "${1:-overlay}" "$s" "$s" >"$s/storage.conf"
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

# need_debian_keyring: KEYRING, the Debian archive keyring (KSIMG_DEBIAN_KEYRING or Debian's);
# skips unless it is readable
need_debian_keyring() {
  KEYRING=${KSIMG_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
  [ -r "$KEYRING" ] || skip "no Debian archive keyring at $KEYRING (install debian-archive-keyring)"
}

# debian_lock ARGS...: `ksimg -v lock ARGS` (output in $T/out and $T/err) as a test's first
# contact with the Debian archive: skips when the host's apt sources name none or the archive
# is unreachable; any other failure fails the test
debian_lock() {
  local rc=0
  "$KSIMG" -v lock "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" != 0 ] || return 0
  if [ "$rc" = 2 ] && grep -qF 'no Debian mirror' "$T/err"; then
    skip "the host's apt sources name no Debian archive: $(tail -1 "$T/err")"
  fi
  if [ "$rc" = 1 ] && grep -qE 'curl error|HTTP 5[0-9][0-9]' "$T/err"; then
    skip "the Debian archive is unreachable from here: $(tail -1 "$T/err")"
  fi
  fail "ksimg lock $*: exit $rc: $(cat "$T/err")"
}

# run_dir NAME: a fresh $KSIMG_TESTS_TMP/NAME.run.XXXXXX, exported as T; like scratch, removed
# on exit when the test passes or skips and kept when it fails (unlike scratch, several runs of
# the test may coexist)
run_dir() {
  mkdir -p "$KSIMG_TESTS_TMP"
  T=$(mktemp -d "$KSIMG_TESTS_TMP/$1.run.XXXXXX") || fail "cannot create a run dir under $KSIMG_TESTS_TMP"
  export T
  LIB_SCRATCH=$T
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

# static_server DIR [ARGS...]: serves DIR on 127.0.0.1 (requests logged to $T/server.log; ARGS
# go to ksimg_static_server, e.g. --fault) until the test exits; sets STATIC_URL to its
# http://127.0.0.1:PORT, STATIC_PORT and STATIC_PID
static_server() {
  local dir=$1
  shift
  need_static_server
  rm -f "$T/port"
  "$STATIC_SERVER" "$dir" --log "$T/server.log" "$@" >"$T/port" &
  STATIC_PID=$!
  track "$STATIC_PID"
  STATIC_PORT=$(wait_port "$T/port")
  [ -n "$STATIC_PORT" ] || fail "ksimg_static_server did not start on $dir"
  STATIC_URL="http://127.0.0.1:$STATIC_PORT"
}

# start_registry DIR [relative] [--auth YAML]: a docker-registry (scripts/start-registry) on a
# free port, stopped on exit; prints the port. relative: Location headers are relative;
# --auth YAML: the body of its `auth:` section (registry_lib.bash's htpasswd_auth, token_auth).
# The caller checks that /usr/bin/docker-registry exists (registry_lib.bash does).
start_registry() {
  local dir=$1 relative=false auth="" port
  shift
  while [ $# -gt 0 ]; do
    case $1 in
      relative) relative=true ;;
      --auth) auth=$2; shift ;;
      *) fail "start_registry: unknown argument $1" ;;
    esac
    shift
  done
  port=$(free_port)
  KSIMG_REGISTRY_RELATIVE_URLS=$relative KSIMG_REGISTRY_AUTH=$auth \
    "$KSIMG_SRC/scripts/start-registry" "$port" "$dir" >/dev/null || fail "scripts/start-registry $port $dir failed"
  track "$(cat "$dir/registry.pid")"
  echo "$port"
}
