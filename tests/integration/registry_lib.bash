# Shared by the tests that need a registry (sourced, not a test itself; it sources lib.bash,
# whose start_registry starts one): the tools they need checked, the `auth:` sections for
# htpasswd or token auth and ksimg_token_server, the fault-injecting ksimg_registry_proxy,
# small images built with `ksimg image build`, and checks.
: "${KSIMG_BUILD_DIR:?}"
# shellcheck source=lib.bash
source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need_tools /usr/bin/docker-registry jq curl python3
PROXY_BIN="$KSIMG_BUILD_DIR/ksimg_registry_proxy"
[ -x "$PROXY_BIN" ] || skip "$PROXY_BIN is not built"


# htpasswd_auth FILE: the `auth:` section of a registry checking Basic credentials in FILE
htpasswd_auth() { printf '  htpasswd:\n    realm: ksimg-basic\n    path: %s' "$1"; }

# token_auth REALM_PORT: the `auth:` section of a registry trusting tokens from ksimg_token_server
# on REALM_PORT, signed with $T/key.pem (token_keys)
token_auth() {
  printf '  token:\n    realm: http://127.0.0.1:%s/token\n    service: ksimg-test-registry\n    issuer: ksimg-test-issuer\n    rootcertbundle: %s/cert.pem' "$1" "$T"
}

# token_keys: $T/key.pem and $T/cert.pem, the token server's signing key and the certificate the
# registry verifies its tokens with
token_keys() {
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj /CN=ksimg-test-token \
    -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null || fail "openssl could not make a token signing key"
}

# start_token_server LOG [ARGS...]: ksimg_token_server (users from $T/users, keys from token_keys),
# stopped on exit; prints its port
start_token_server() {
  local log=$1 bin="$KSIMG_BUILD_DIR/ksimg_token_server"
  shift
  [ -x "$bin" ] || fail "$bin is not built"
  : > "$log"
  "$bin" --key "$T/key.pem" --cert "$T/cert.pem" --user-file "$T/users" --log "$log" "$@" > "$log.port" &
  track $!
  wait_port "$log.port"
}

# start_proxy UPSTREAM_PORT LOG [proxy args...]: prints the proxy's port
start_proxy() {
  local up=$1 log=$2
  shift 2
  : > "$log"
  "$PROXY_BIN" "$up" --log "$log" "$@" > "$log.port" 2>"$log.err" &
  track $!
  wait_port "$log.port"
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


# registry_manifest PORT REPO REF: the HTTP status of HEAD on the manifest
manifest_status() {
  curl -s -o /dev/null -w '%{http_code}' -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://127.0.0.1:$1/v2/$2/manifests/$3"
}

