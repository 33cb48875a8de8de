#!/usr/bin/env bash
# Registry authentication end to end against the real Debian docker-registry on 127.0.0.1:
# htpasswd Basic auth, token auth with ksimg_token_server (RS256 JWTs with an x5c chain the
# registry verifies against its rootcertbundle), a Harbor robot name (robot$project+name),
# `ksimg login` / `logout` round trips in podman's auth.json (mode 0600, other entries kept),
# wrong and missing credentials (exit 1 naming `ksimg login`), tokens that expire mid-push
# (refreshed ahead of expires_in, and refetched after a 401 when the server lied about
# expires_in), Harbor's Basic answer to an expired token (through the token server's
# --harbor-front), and that the password never shows in stdout, stderr, --json, process
# arguments or any file but the auth file. The push checks need `ksimg push`; without it
# they are skipped and login/logout are still tested.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools htpasswd openssl
TOKEN_SERVER="$KSIMG_BUILD_DIR/ksimg_token_server"
[ -x "$TOKEN_SERVER" ] || skip "$TOKEN_SERVER is not built"
scratch registry_auth

# A private home: the auth file is ${XDG_RUNTIME_DIR}/containers/auth.json.
export HOME="$T/home" XDG_RUNTIME_DIR="$T/run" XDG_CONFIG_HOME="$T/config"
unset DOCKER_CONFIG REGISTRY_AUTH_FILE
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
AUTH="$XDG_RUNTIME_DIR/containers/auth.json"
ROBOT='robot$kernels+ci'
PASS='Pa$$:w0rd+/ x%41'      # '$', ':', '+', '/', a space and a %-escape: all must survive
B64=$(printf '%s:%s' "$ROBOT" "$PASS" | base64 -w0)
export KSIMG_IMAGES_LOCK="$T/images.lock.json"

# expect CODE TEXT CMD...: the command fails with exit CODE and TEXT on stderr (lib.bash's
# expect, and the output kept for the secret scan).
expect() {
  local code=$1 text=$2 rc=0
  shift 2
  "$@" > "$T/out.txt" 2> "$T/err.txt" < /dev/null || rc=$?
  cat "$T/out.txt" "$T/err.txt" >> "$T/all-output.txt"
  [ "$rc" = "$code" ] || { cat "$T/err.txt"; fail "'$*' exited $rc, expected $code"; }
  grep -qF -- "$text" "$T/err.txt" || { cat "$T/err.txt"; fail "'$*' did not say '$text'"; }
}
# run CMD...: must succeed; stdout and stderr kept for the secret scan.
run() {
  "$@" > "$T/out.txt" 2> "$T/err.txt" || { cat "$T/err.txt"; fail "'$*' failed"; }
  cat "$T/out.txt" "$T/err.txt" >> "$T/all-output.txt"
}
login() { printf '%s' "$2" | run "$KSIMG" login "$1" -u "$ROBOT" --password-stdin; }

# Every process's arguments, sampled while ksimg runs.
# It stops at its own pace when told (stop-sampling): a kill could leave its last ps running,
# which would then record the greps below that carry the password.
( while [ ! -e "$T/stop-sampling" ]; do ps -eo args >> "$T/ps.txt" 2>/dev/null; sleep 0.05; done ) &
SAMPLER=$!
track "$SAMPLER"

printf '%s:%s\n' "$ROBOT" "$PASS" > "$T/users"
token_keys

HAVE_PUSH=false
if "$KSIMG" push --help >/dev/null 2>&1; then
  HAVE_PUSH=true
  mkdir -p trees/a/usr trees/b/opt
  head -c 3000000 /dev/urandom > trees/a/usr/base
  for i in 1 2 3 4 5; do head -c 4000000 /dev/urandom > "trees/b/opt/tool$i"; done
  "$KSIMG" -q image build --layer trees/a --tag small --layout oci --cmd true > /dev/null
  "$KSIMG" -q image build --layer trees/a --layer trees/b --tag big --layout oci --cmd true > /dev/null
else
  echo "(ksimg push is not available: push checks skipped)"
fi
# push PORT TAG [ARGS]: a push of the layout's TAG to 127.0.0.1:PORT/ns, JSON kept.
push() {
  local port=$1 tag=$2
  shift 2
  run "$KSIMG" push --tag "$tag" --to "127.0.0.1:$port/ns" --layout "$T/oci" --json "$@"
}

echo "== htpasswd Basic auth"
mkdir -p basic
printf '%s' "$PASS" | htpasswd -iBn "$ROBOT" > basic/htpasswd
BASIC=$(start_registry "$T/basic" --auth "$(htpasswd_auth "$T/basic/htpasswd")")
expect 1 "refused the credentials of '$ROBOT'" sh -c "printf 'wrong' | '$KSIMG' login 127.0.0.1:$BASIC -u '$ROBOT' --password-stdin"
[ ! -e "$AUTH" ] || fail "a refused login wrote $AUTH"
ok "Basic: a wrong password is refused (exit 1) and nothing is saved"
expect 2 "--password-stdin" "$KSIMG" login "127.0.0.1:$BASIC" -u "$ROBOT"
ok "no password on a non-terminal stdin without --password-stdin: usage error"
login "127.0.0.1:$BASIC" "$PASS"
grep -q 'Login Succeeded' out.txt || fail "login printed: $(cat out.txt)"
[ "$(stat -c %a "$AUTH")" = 600 ] || fail "auth.json mode $(stat -c %a "$AUTH")"
[ "$(jq -r --arg k "127.0.0.1:$BASIC" '.auths[$k].auth' "$AUTH")" = "$B64" ] || fail "auth.json entry: $(cat "$AUTH")"
ok "Basic: login saves base64(user:password) in $AUTH, mode 0600"
if $HAVE_PUSH; then
  push "$BASIC" small
  [ "$(jq -r '.[0].digest' out.txt)" != null ] || fail "Basic push: $(cat out.txt)"
  ok "Basic: push with the saved credentials"
fi

echo "== token auth (ksimg_token_server, RS256 JWT with x5c)"
TS=$(start_token_server "$T/tok.log")
TOK=$(start_registry "$T/tokreg" --auth "$(token_auth "$TS")")
expect 1 "refused the credentials" sh -c "printf 'wrong' | '$KSIMG' login 127.0.0.1:$TOK -u '$ROBOT' --password-stdin"
ok "token: a wrong password is refused by the token server"
login "127.0.0.1:$TOK" "$PASS"
[ "$(jq -r 'select(.status==200) | .account' tok.log | sort -u)" = "$ROBOT" ] || fail "token log: $(cat tok.log)"
ok "token: login with the robot name (account=$ROBOT reached the token server intact)"
[ "$(jq -r --arg k "127.0.0.1:$BASIC" '.auths[$k].auth' "$AUTH")" = "$B64" ] || fail "the Basic entry was lost"
ok "login keeps the other registries' entries"
if $HAVE_PUSH; then
  : > tok.log
  push "$TOK" small
  grep -q '"repository:ns/kernelsmith:pull,push"' tok.log || fail "no push scope asked: $(cat tok.log)"
  ok "token: push with a push+pull token ($(wc -l < tok.log) token requests)"
  run "$KSIMG" -v push --tag small --to "127.0.0.1:$TOK/ns" --layout "$T/oci" --json
  grep -q "token request" err.txt || fail "-v did not log the token request: $(cat err.txt)"
  ok "token: a verbose re-push (its debug log joins the secret scan)"
  # Credentials the registry no longer accepts: a clear error naming ksimg login.
  cp "$AUTH" auth.good
  jq --arg k "127.0.0.1:$TOK" --arg a "$(printf '%s:%s' "$ROBOT" nope | base64 -w0)" '.auths[$k].auth=$a' auth.good > "$AUTH"
  expect 1 "ksimg login 127.0.0.1:$TOK" "$KSIMG" push --tag small --to "127.0.0.1:$TOK/ns" --layout "$T/oci"
  ok "token: a stale password fails with exit 1 naming 'ksimg login'"
  cp auth.good "$AUTH"
fi

echo "== logout round trip"
run "$KSIMG" logout "127.0.0.1:$TOK"
[ "$(jq -r --arg k "127.0.0.1:$TOK" '.auths[$k]' "$AUTH")" = null ] || fail "logout left the entry"
[ "$(jq -r --arg k "127.0.0.1:$BASIC" '.auths[$k].auth' "$AUTH")" = "$B64" ] || fail "logout removed another entry"
[ "$(stat -c %a "$AUTH")" = 600 ] || fail "auth.json mode after logout"
ok "logout removes only that registry's entry"
expect 1 "not logged in to 127.0.0.1:$TOK" "$KSIMG" logout "127.0.0.1:$TOK"
ok "logout of a registry without credentials: exit 1"
if $HAVE_PUSH; then
  expect 1 "ksimg login 127.0.0.1:$TOK" "$KSIMG" push --tag small --to "127.0.0.1:$TOK/ns" --layout "$T/oci"
  ok "token: an anonymous push is refused with a message naming 'ksimg login'"
fi
login "127.0.0.1:$TOK" "$PASS"

if $HAVE_PUSH; then
  echo "== tokens expiring mid-push"
  # The registry logs "invalid token" for every request whose token had expired.
  expired() { grep -c 'invalid token' "$1" || true; }
  # Honest server: 3 s tokens, expires_in 3: ksimg refreshes ahead of expiry (at 80 %).
  TS2=$(start_token_server "$T/tok2.log" --expires 3)
  REG2=$(start_registry "$T/reg2" --auth "$(token_auth "$TS2")")
  login "127.0.0.1:$REG2" "$PASS"
  : > tok2.log
  start=$(date +%s)
  push "$REG2" big -j 1 --chunk-size 32768
  took=$(($(date +%s) - start))
  n=$(grep -c '"status":200' tok2.log || true)
  [ "$(jq -r '.[0].digest' out.txt)" != null ] || fail "push with 3 s tokens"
  [ "$(expired reg2/registry.log)" = 0 ] || fail "an expired token reached the registry $(expired reg2/registry.log) times"
  if [ "$took" -ge 4 ]; then
    [ "$n" -ge 3 ] || fail "a $took s push with 3 s tokens fetched only $n tokens"
    ok "3 s tokens refreshed ahead of expiry: $n tokens in $took s, no expired token sent"
  else
    ok "3 s tokens: the push completes with no expired token sent (only $took s: no refresh needed)"
  fi
  # Lying server: tokens die after 3 s but claim an hour: ksimg gets 401s and refetches.
  TS3=$(start_token_server "$T/tok3.log" --expires 3 --expires-in 3600)
  REG3=$(start_registry "$T/reg3" --auth "$(token_auth "$TS3")")
  login "127.0.0.1:$REG3" "$PASS"
  : > tok3.log
  start=$(date +%s)
  push "$REG3" big -j 1 --chunk-size 32768
  took=$(($(date +%s) - start))
  n=$(grep -c '"status":200' tok3.log || true)
  [ "$(jq -r '.[0].digest' out.txt)" != null ] || fail "push with expiring tokens"
  if [ "$(expired reg3/registry.log)" -gt 0 ]; then
    [ "$n" -ge 2 ] || fail "tokens expired but only $n were fetched"
    ok "tokens expiring mid-push: the registry's 401 (invalid token) made ksimg refetch ($n tokens in $took s)"
  else
    echo "   (the push took only $took s: no token expired; refetch not observed)"
  fi

  echo "== Harbor: an expired token is answered with a Basic challenge"
  HP=$(free_port)
  REG4=$(start_registry "$T/reg4" --auth "$(token_auth "$HP")")
  : > "$T/tok4.log"
  "$TOKEN_SERVER" --port "$HP" --key "$T/key.pem" --cert "$T/cert.pem" --user-file "$T/users" --log "$T/tok4.log" \
    --expires 3 --expires-in 3600 --harbor-front "$REG4" > "$T/tok4.port" &
  track $!
  for _ in $(seq 100); do [ -s "$T/tok4.port" ] && break; sleep 0.05; done
  login "127.0.0.1:$HP" "$PASS"
  start=$(date +%s)
  push "$HP" big -j 1 --chunk-size 65536
  took=$(( $(date +%s) - start ))
  [ "$(jq -r '.[0].digest' out.txt)" != null ] || fail "push through the Harbor front"
  if grep -q harbor_basic_401 tok4.log; then
    ok "Harbor front: Basic 401s for expired tokens were answered by refetching ($(grep -c '"status":200' tok4.log) tokens in $took s)"
  else
    ok "Harbor front: push through it works (no token expired within $took s)"
  fi
fi

echo "== the password never leaks"
# Stop sampling first: the greps below carry the password in their own arguments.
touch "$T/stop-sampling"
wait "$SAMPLER" 2>/dev/null || true
for f in all-output.txt ps.txt; do
  grep -qF -- "$PASS" "$f" && fail "the password appears in $f"
  grep -qF -- "$B64" "$f" && fail "the base64 credential appears in $f"
done
ok "not in stdout, stderr, --json, -v logs, error messages ($(wc -l < all-output.txt) lines) or any process's arguments ($(wc -l < ps.txt) ps lines sampled)"
leaks=$(grep -rlF --exclude=auth.json --exclude=users -- "$PASS" "$T" 2>/dev/null || true)
[ -z "$leaks" ] || fail "the password is in: $leaks"
b64leaks=$(grep -rlF --exclude=auth.json --exclude=auth.good -- "$B64" "$T" 2>/dev/null || true)
[ -z "$b64leaks" ] || fail "the base64 credential is in: $b64leaks"
grep -qF -- "$PASS" tok.log && fail "the token server logged the password"
ok "in no file but the auth file ($(find "$T" -type f | wc -l) files scanned, the registries' logs and storage included)"

echo "registry_auth: $CHECKS checks passed"
