#!/usr/bin/env bash
# Credentials are not forwarded across a redirect to another host (docs/security.md
# "Secrets"). A real docker-registry with htpasswd Basic auth, and one with
# token auth (ksimg_token_server), each behind ksimg_registry_proxy, whose `redirect` fault
# answers every blob GET with a 307 to a ksimg_static_server serving the OCI layout on another
# host (127.0.0.2, or "localhost" for 127.0.0.1), like a registry handing blobs to a CDN. That
# server records every request header. `ksimg pull` must complete (the blobs came from the
# other host) and the recorder must have seen no Authorization (Basic or Bearer), no
# Proxy-Authorization, no Cookie and neither the password nor a token. A control request
# with curl proves the recorder does log an Authorization header that is sent.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools htpasswd openssl
need_static_server
[ -x "$KSIMG_BUILD_DIR/ksimg_token_server" ] || skip "$KSIMG_BUILD_DIR/ksimg_token_server is not built"
scratch registry_redirect

export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/config"
unset DOCKER_CONFIG REGISTRY_AUTH_FILE
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
export KSIMG_IMAGES_LOCK="$T/images.lock.json"
USER_NAME='ci-bot'
PASS='s3cret:Pa$$ word'
B64=$(printf '%s:%s' "$USER_NAME" "$PASS" | base64 -w0)
printf '%s:%s\n' "$USER_NAME" "$PASS" > users
token_keys

# start_recorder NAME ADDR: a static server on the layout at ADDR recording headers; prints its port.
start_recorder() {
  : > "$T/$1.headers"
  "$STATIC_SERVER" "$T/oci" --bind "$2" --log "$T/$1.log" --header-log "$T/$1.headers" > "$T/$1.port" 2>&1 &
  track $!
  wait_port "$T/$1.port"
}
# redirecting_proxy REG_PORT NAME BASE: a proxy redirecting every blob GET to BASE; prints its port.
redirecting_proxy() {
  start_proxy "$1" "$T/$2.proxy.log" --redirect-to "$3" --fault 'redirect GET 0 /blobs/sha256:'
}
login() { printf '%s' "$PASS" | "$KSIMG" login "$1" -u "$USER_NAME" --password-stdin > /dev/null; }

# check_pull NAME PROXY_PORT RECORDER: pull through the proxy; the recorder served the blobs
# and saw no credentials.
check_pull() {
  local name=$1 px=$2 rec=$3 got served redirects
  login "127.0.0.1:$px"
  "$KSIMG" pull "127.0.0.1:$px/ns/kernelsmith:small" --layout "$T/pulled-$name" --json > "$name.out" 2> "$name.err" ||
    { cat "$name.err"; fail "$name: pull through the redirecting proxy failed"; }
  got=$(jq -r '.[0].digest' "$name.out")
  [ "$got" = "$DIGEST" ] || fail "$name: pulled $got, want $DIGEST"
  redirects=$(grep -cE ' 307 [0-9]+ redirect$' "$T/$name.proxy.log" || true)
  served=$(grep -c '^GET /blobs/sha256/[0-9a-f]* 200$' "$T/$rec.log" || true)
  [ "$redirects" -ge 2 ] && [ "$served" -ge "$redirects" ] ||
    fail "$name: $redirects redirects, $served blobs served by the other host"
  ok "$name: pull completes; $redirects blob GETs were redirected and served by the other host"
  if grep -qiE '^  (authorization|proxy-authorization|cookie):' "$T/$rec.headers"; then
    grep -iE '^  (authorization|proxy-authorization|cookie):' "$T/$rec.headers" >&2
    fail "$name: a credential header reached the other host"
  fi
  grep -qF -- "$PASS" "$T/$rec.headers" && fail "$name: the password reached the other host"
  grep -qF -- "$B64" "$T/$rec.headers" && fail "$name: the Basic credential reached the other host"
  grep -qi 'bearer' "$T/$rec.headers" && fail "$name: a bearer token reached the other host"
  ok "$name: no Authorization, Proxy-Authorization or Cookie in $(grep -c '^  ' "$T/$rec.headers") recorded headers"
  HEADERS_SEEN=$((HEADERS_SEEN + $(grep -c '^  ' "$T/$rec.headers")))
}
HEADERS_SEEN=0

mkdir -p tree/usr/lib tree/opt
head -c 500000 /dev/urandom > tree/usr/lib/liba.so
head -c 300000 /dev/urandom > tree/opt/tool
"$KSIMG" -q image build --layer tree/usr --layer tree/opt --tag small --layout "$T/oci" --cmd true > /dev/null
DIGEST=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"]=="small") | .digest' oci/index.json)

echo "== the recorder logs an Authorization header that is sent (control)"
REC2=$(start_recorder other 127.0.0.2) || true
[ -n "$REC2" ] || { cat "$T/other.port"; echo "SKIP: cannot bind 127.0.0.2"; exit 77; }
curl -s -o /dev/null -H "Authorization: Basic $B64" "http://127.0.0.2:$REC2/index.json"
grep -q "^  Authorization: Basic $B64\$" other.headers || fail "the recorder missed a sent Authorization: $(cat other.headers)"
: > other.headers
: > other.log
ok "control: an Authorization sent to 127.0.0.2 shows in the recorder's log"

echo "== Basic auth, blobs redirected to 127.0.0.1 -> 127.0.0.2"
printf '%s' "$PASS" | htpasswd -iBn "$USER_NAME" > htpasswd
BASIC=$(start_registry "$T/basic" --auth "$(htpasswd_auth "$T/htpasswd")")
login "127.0.0.1:$BASIC"
"$KSIMG" push --tag small --to "127.0.0.1:$BASIC/ns" --layout "$T/oci" > /dev/null 2> push.err ||
  { cat push.err; fail "push to the Basic registry failed"; }
PX1=$(redirecting_proxy "$BASIC" basic "http://127.0.0.2:$REC2")
check_pull basic "$PX1" other

echo "== Basic auth, blobs redirected to another host name (localhost)"
: > other.headers
REC3=$(start_recorder local 127.0.0.1)
PX2=$(redirecting_proxy "$BASIC" basic-localhost "http://localhost:$REC3")
check_pull basic-localhost "$PX2" local

echo "== token auth (Bearer), blobs redirected to 127.0.0.2"
: > other.headers
: > other.log
TS=$(start_token_server "$T/tok.log")
TOK=$(start_registry "$T/tokreg" --auth "$(token_auth "$TS")")
login "127.0.0.1:$TOK"
"$KSIMG" push --tag small --to "127.0.0.1:$TOK/ns" --layout "$T/oci" > /dev/null 2> push.err ||
  { cat push.err; fail "push to the token registry failed"; }
PX3=$(redirecting_proxy "$TOK" bearer "http://127.0.0.2:$REC2")
: > tok.log
check_pull bearer "$PX3" other
grep -q '"status":200' tok.log || fail "bearer: no token was issued, so nothing was proven: $(cat tok.log)"
grep -qE '^(GET|HEAD) /v2/ns/kernelsmith/manifests/[^ ]+ 200 ' bearer.proxy.log ||
  fail "bearer: the manifest did not come through the authenticated proxy: $(cat bearer.proxy.log)"
ok "bearer: tokens were issued and used on the registry's own host ($(grep -c '"status":200' tok.log) tokens)"

echo "registry_redirect: $CHECKS checks passed, $HEADERS_SEEN headers recorded on the other hosts, 0 credentials forwarded"
