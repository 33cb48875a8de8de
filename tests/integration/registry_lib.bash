# Shared by the registry_*.sh integration tests (sourced, not a test itself): a real
# docker-registry on a free 127.0.0.1 port via scripts/start-registry, the fault-injecting
# ksimg_registry_proxy in front of it, small images built with `ksimg image build`, and checks.
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}" "${KSIMG_BUILD_DIR:?}"

for tool in /usr/bin/docker-registry jq curl python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (scripts/install-deps installs it)"
    exit 77
  fi
done
PROXY_BIN="$KSIMG_BUILD_DIR/ksimg_registry_proxy"
[ -x "$PROXY_BIN" ] || { echo "SKIP: $PROXY_BIN is not built"; exit 77; }

CHECKS=0
PIDFILE=$(mktemp)  # processes this test started (appended from subshells too)
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS: $*"; }
cleanup() {
  local p
  while read -r p; do kill "$p" 2>/dev/null || true; done < "$PIDFILE"
  rm -f "$PIDFILE"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_registry DIR [relative]: prints the port
start_registry() {
  local dir=$1 port
  port=$(free_port)
  KSIMG_REGISTRY_RELATIVE_URLS=${2:-false} "$KSIMG_SRC/scripts/start-registry" "$port" "$dir" >/dev/null
  cat "$dir/registry.pid" >> "$PIDFILE"
  echo "$port"
}

# start_proxy UPSTREAM_PORT LOG [proxy args...]: prints the proxy's port
start_proxy() {
  local up=$1 log=$2
  shift 2
  : > "$log"
  local out="$log.port"
  "$PROXY_BIN" "$up" --log "$log" "$@" > "$out" 2>"$log.err" &
  echo "$!" >> "$PIDFILE"
  for _ in $(seq 100); do [ -s "$out" ] && break; sleep 0.05; done
  head -1 "$out"
}

# uploaded_bytes LOG: blob body bytes the proxy saw going to upload sessions (POST/PATCH/PUT)
uploaded_bytes() {
  awk '($1=="PUT"||$1=="PATCH"||$1=="POST") && $2 ~ /\/blobs\/uploads\// { n += $4 } END { print n+0 }' "$1"
}

# make_images LAYOUT: img1 and img2 share a 1 MiB base layer; each has its own top layer
make_images() {
  local L=$1 d
  d=$(dirname "$L")/trees
  mkdir -p "$d/base/usr/lib" "$d/tool1/opt" "$d/tool2/opt"
  head -c 1048576 /dev/urandom > "$d/base/usr/lib/libbase.so"
  head -c 300000 /dev/urandom > "$d/tool1/opt/gcc1"
  head -c 200000 /dev/urandom > "$d/tool2/opt/gcc2"
  "$KSIMG" -q image build --layer "$d/base" --layer "$d/tool1" --tag img1 --layout "$L" --cmd true >/dev/null
  "$KSIMG" -q image build --layer "$d/base" --layer "$d/tool2" --tag img2 --layout "$L" --cmd true >/dev/null
}

layout_digest() { jq -r --arg t "$2" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]==$t) | .digest' "$1/index.json"; }

# registry_manifest PORT REPO REF: the HTTP status of HEAD on the manifest
manifest_status() {
  curl -s -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3"
}

# expect CODE TEXT CMD...: the command fails with exit CODE and TEXT on stderr
expect() {
  local code=$1 text=$2 rc=0
  shift 2
  "$@" >out.txt 2>err.txt || rc=$?
  [ "$rc" = "$code" ] || { cat err.txt; fail "'$*' exited $rc, expected $code"; }
  grep -qF -- "$text" err.txt || { cat err.txt; fail "'$*' did not say '$text'"; }
}
