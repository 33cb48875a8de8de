#!/usr/bin/env bash
# `ksimg toolchain-layer` for a tarball (Bootlin-shaped) recipe against a fixture SDK made
# here and served on 127.0.0.1 by ksimg_static_server: the layer holds the SDK under its
# install_dir, the SDK's relocate-sdk.sh rewrote the recorded build path to it (in a private
# mount namespace: the host's install_dir is never created), a wrong sha256 exits 3 and
# caches nothing, an unreachable or 404 mirror falls back to the recipe's URL, and a second
# run gives the same layer digest from the cache without downloading (the server's log);
# the source mirror (docker-registry): wrong bytes refused, upstream down -> same digest.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools jq tar xz sha256sum unshare
need_static_server
if ! unshare --mount true 2>/dev/null && ! unshare --map-root-user --mount true 2>/dev/null; then
  skip "no private mount namespaces here (needed to run relocate-sdk.sh at the install path)"
fi
run_dir toolchain_tarball
checks=0
ok() { checks=$((checks + 1)); }  # counted silently; the last line prints the total

NAME=bootlin-test-mipsel
TRIPLE=mipsel-buildroot-linux-musl
INSTALL=/opt/ksimg-test-toolchains/$NAME
OLD=/home/buildroot/autobuild/run/instance-0/output-1/host
[ ! -e "$INSTALL" ] || fail "$INSTALL exists on this host; the test needs it absent"

# --- A Bootlin-shaped SDK: one top directory, bin/<triple>-gcc, the recorded build path in
# share/buildroot/sdk-location and in a text file, and a relocate-sdk.sh like Buildroot's.
TOP="mipsel--musl--stable-test"
S="$T/src/$TOP"
mkdir -p "$S/bin" "$S/share/buildroot" "$S/etc" "$S/$TRIPLE/sysroot/usr/lib"
cat >"$S/bin/$TRIPLE-gcc" <<SH
#!/bin/sh
[ "\${1:-}" = -dumpmachine ] && { echo $TRIPLE; exit 0; }
echo "fixture gcc 9.3.0"
SH
chmod 755 "$S/bin/$TRIPLE-gcc"
ln -s "$TRIPLE-gcc" "$S/bin/mipsel-linux-gcc"
printf '%s\n' "$OLD" >"$S/share/buildroot/sdk-location"
printf 'sysroot=%s/%s/sysroot\nlibdir=%s/lib\n' "$OLD" "$TRIPLE" "$OLD" >"$S/etc/paths.conf"
cat >"$S/relocate-sdk.sh" <<'SH'
#!/bin/bash
# Like Buildroot's support/misc/relocate-sdk.sh: the new location is where this script lives.
if [ "$#" -ne 0 ]; then echo "Run this script to relocate the buildroot SDK at that location"; exit 1; fi
LOCFILE="share/buildroot/sdk-location"
cd "$(dirname "$(readlink -f "$0")")"
[ -r "${LOCFILE}" ] || { echo "Previous location of the buildroot SDK not found!"; exit 1; }
OLDPATH="$(cat "${LOCFILE}")"
NEWPATH="$(pwd)"
[ "${OLDPATH}" != "${NEWPATH}" ] || { echo "This SDK has already been relocated!"; exit 0; }
echo "Relocating the buildroot SDK from ${OLDPATH} to ${NEWPATH} ..."
export LC_ALL=C
grep -lr "${OLDPATH}" . | while read -r FILE; do
  [ "${FILE}" = "./${LOCFILE}" ] || sed -i "s|${OLDPATH}|${NEWPATH}|g" "${FILE}"
done
sed -i "s|${OLDPATH}|${NEWPATH}|g" "${LOCFILE}"
SH
chmod 755 "$S/relocate-sdk.sh"
WWW="$T/www"
mkdir -p "$WWW/upstream" "$WWW/mirror-ok"
FILE="$TOP.tar.xz"
tar --sort=name --owner=0 --group=0 --numeric-owner -C "$T/src" -cJf "$WWW/upstream/$FILE" "$TOP"
cp "$WWW/upstream/$FILE" "$WWW/mirror-ok/$FILE"
SHA=$(sha256sum "$WWW/upstream/$FILE" | cut -d' ' -f1)

static_server "$WWW"
LOG="$T/server.log"
BASE=$STATIC_URL

# --- The project's data plus test recipes (one with a wrong sha256), and a lock for them.
mkdir -p "$T/data"
cp -r "$KSIMG_SRC/matrix" "$KSIMG_SRC/recipes" "$T/data/"
recipe() {  # recipe NAME SHA256 URL
  jq -n --arg name "$1" --arg sha "$2" --arg url "$3" --arg dir "$INSTALL" --arg triple "$TRIPLE" \
    '{name: $name, kind: "tarball", arch: "mipsel", gcc: "9.3.0", libc: "musl", triple: $triple,
      release: "bootlin test", urls: [$url], sha256: $sha, install_dir: $dir, relocate: "relocate-sdk.sh"}' \
    >"$T/data/recipes/$1.json"
}
recipe "$NAME" "$SHA" "$BASE/upstream/$FILE"
WRONG=$(printf 'not the tarball' | sha256sum | cut -d' ' -f1)
recipe bootlin-test-wrongsha "$WRONG" "$BASE/upstream/$FILE"
K() { "$KSIMG" --data-dir "$T/data" "$@"; }
recipe bootlin-test-stale "$SHA" "$BASE/upstream/$FILE"
SOURCE_DATE_EPOCH=1700000000 K lock --recipe "$NAME" --recipe bootlin-test-wrongsha --recipe bootlin-test-stale \
  --lock "$T/lock.json" >/dev/null 2>"$T/err" || fail "lock: $(cat "$T/err")"
recipe bootlin-test-unlocked "$SHA" "$BASE/upstream/$FILE"
jq '.note = "changed after locking"' "$T/data/recipes/bootlin-test-stale.json" >"$T/stale.json"
mv "$T/stale.json" "$T/data/recipes/bootlin-test-stale.json"
layer() {  # layer CACHE TAG [extra flags]: prints the JSON result
  local cache=$1 tag=$2; shift 2
  K toolchain-layer --recipe "$NAME" --lock "$T/lock.json" --layout "$T/oci" --tag "$tag" --cache "$cache" --json "$@"
}

# --- First build: the layer holds the relocated SDK under its install_dir.
layer "$T/cache" first >"$T/first.json" 2>"$T/err" || fail "toolchain-layer: $(cat "$T/err")"
DIGEST=$(jq -r .layer "$T/first.json")
jq -e --arg p "$TRIPLE-" --arg d "$INSTALL/bin" '.cross_compile == $p and .path_dirs == [$d]' "$T/first.json" \
  >/dev/null || fail "CROSS_COMPILE/PATH: $(cat "$T/first.json")"; ok
BLOB="$T/oci/blobs/sha256/${DIGEST#sha256:}"
[ -f "$BLOB" ] || fail "no blob for $DIGEST"
tar -tzf "$BLOB" >"$T/members"
grep -qx "${INSTALL#/}/bin/$TRIPLE-gcc" "$T/members" || fail "no bin/$TRIPLE-gcc: $(head "$T/members")"; ok
grep -qx "opt/" "$T/members" && grep -qx "${INSTALL#/}/" "$T/members" || fail "install_dir and its parents are not listed"; ok
grep -qx "${INSTALL#/}/bin/mipsel-linux-gcc" "$T/members" || fail "the alias symlink is missing"; ok
! grep -q "^${INSTALL#/}/$TOP" "$T/members" || fail "the top directory was not stripped"; ok
mkdir -p "$T/x" && tar -xzf "$BLOB" -C "$T/x"
[ "$(cat "$T/x$INSTALL/share/buildroot/sdk-location")" = "$INSTALL" ] \
  || fail "sdk-location: $(cat "$T/x$INSTALL/share/buildroot/sdk-location")"; ok
grep -qx "sysroot=$INSTALL/$TRIPLE/sysroot" "$T/x$INSTALL/etc/paths.conf" \
  || fail "relocation did not rewrite paths.conf: $(cat "$T/x$INSTALL/etc/paths.conf")"; ok
! grep -q "$OLD" "$T/x$INSTALL/etc/paths.conf" || fail "the old build path is still in paths.conf"; ok
[ "$("$T/x$INSTALL/bin/$TRIPLE-gcc" -dumpmachine)" = "$TRIPLE" ] || fail "the gcc script does not run"; ok
[ ! -e "$INSTALL" ] || fail "the relocation created $INSTALL on the host"; ok
[ -f "$T/cache/sha256/$SHA" ] || fail "the tarball is not in the cache by its sha256"; ok

# --- Second build: same digest, served from the cache (no new request to the server).
before=$(wc -l <"$LOG")
layer "$T/cache" second >"$T/second.json" 2>"$T/err" || fail "second run: $(cat "$T/err")"
[ "$(jq -r .layer "$T/second.json")" = "$DIGEST" ] || fail "the layer digest changed: $(jq -r .layer "$T/second.json") != $DIGEST"; ok
[ "$(wc -l <"$LOG")" = "$before" ] || fail "the second run downloaded again: $(tail -n +$((before + 1)) "$LOG")"; ok

# --- Only what the lock pins: a recipe missing from it or changed since is refused (exit 2)
# unless --allow-unpinned, which builds it from the recipe as it is.
for r in bootlin-test-unlocked bootlin-test-stale; do
  rc=0
  K toolchain-layer --recipe "$r" --lock "$T/lock.json" --layout "$T/oci" --tag "$r" --cache "$T/cache" \
    >/dev/null 2>"$T/err" || rc=$?
  [ "$rc" = 2 ] && grep -qF "run 'ksimg lock --recipe $r'" "$T/err" || fail "$r: exit $rc: $(cat "$T/err")"; ok
done
grep -qF 'changed since it was locked' "$T/err" || fail "the stale recipe's error: $(cat "$T/err")"; ok
K toolchain-layer --recipe bootlin-test-unlocked --lock "$T/lock.json" --layout "$T/oci" --tag unpinned \
  --cache "$T/cache" --allow-unpinned --json >"$T/unpinned.json" 2>"$T/err" || fail "--allow-unpinned: $(cat "$T/err")"
jq -e --arg d "$DIGEST" '.layer == $d and (.pinned | not)' "$T/unpinned.json" >/dev/null \
  || fail "unpinned build: $(cat "$T/unpinned.json")"; ok

# --- A wrong sha256: exit 3, nothing cached.
rc=0
K toolchain-layer --recipe bootlin-test-wrongsha --lock "$T/lock.json" --layout "$T/oci" --tag wrong \
  --cache "$T/cache-wrong" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "wrong sha256: exit $rc (expected 3): $(cat "$T/err")"; ok
grep -qF "expected $WRONG, got $SHA" "$T/err" || fail "the error does not name both digests: $(cat "$T/err")"; ok
[ -z "$(ls -A "$T/cache-wrong/sha256" 2>/dev/null)" ] || fail "a mismatching download was cached: $(ls "$T/cache-wrong/sha256")"; ok
[ -z "$(ls -A "$T/cache-wrong/tmp" 2>/dev/null)" ] || fail "a temp file was left behind"; ok

# --- Mirrors: tried first by file name; a 404 or unreachable one falls back to the recipe's URL.
: >"$LOG"
layer "$T/cache-m1" m1 --tarball-mirror "$BASE/mirror-ok" >"$T/m1.json" 2>"$T/err" || fail "mirror: $(cat "$T/err")"
grep -qF "GET /mirror-ok/$FILE 200" "$LOG" && ! grep -qF "GET /upstream/" "$LOG" \
  || fail "the mirror was not used first: $(cat "$LOG")"; ok
: >"$LOG"
layer "$T/cache-m2" m2 --tarball-mirror "$BASE/no-such-mirror" >"$T/m2.json" 2>"$T/err" || fail "404 mirror: $(cat "$T/err")"
grep -qF "GET /no-such-mirror/$FILE 404" "$LOG" && grep -qF "GET /upstream/$FILE 200" "$LOG" \
  || fail "no fallback after a 404 mirror: $(cat "$LOG")"; ok
DOWN=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
KSIMG_TARBALL_MIRROR="http://127.0.0.1:$DOWN/mirror" layer "$T/cache-m3" m3 >"$T/m3.json" 2>"$T/err" \
  || fail "unreachable mirror: $(cat "$T/err")"
grep -qF "127.0.0.1:$DOWN" "$T/err" || fail "the unreachable mirror was not tried: $(cat "$T/err")"; ok
for j in m1 m2 m3; do
  [ "$(jq -r .layer "$T/$j.json")" = "$DIGEST" ] || fail "$j: another layer digest"; ok
done
# --- Source mirror (docs/mirror.md): the SDK pushed to a real docker-registry as an artifact;
# a mirror blob with wrong bytes is refused (upstream used instead); with the upstream server
# stopped, the mirror alone gives the same layer digest as the upstream fixture did.
if [ -x /usr/bin/docker-registry ]; then
  RPORT=$(start_registry "$T/reg")
  MIRROR="127.0.0.1:$RPORT/ci/sources"
  K mirror push "$MIRROR" --recipe "$NAME" --cache "$T/cache" >"$T/push.out" 2>"$T/err" || fail "mirror push: $(cat "$T/err")"
  grep -q "^uploaded $FILE $MIRROR:$FILE@sha256:" "$T/push.out" || fail "mirror push output: $(cat "$T/push.out")"; ok
  K mirror check "$MIRROR" --recipe "$NAME" >"$T/check.out" 2>"$T/err" && grep -q "^present $FILE sha256:$SHA" "$T/check.out" \
    || fail "mirror check: $(cat "$T/check.out" "$T/err")"; ok
  BLOBF="$T/reg/data/docker/registry/v2/blobs/sha256/${SHA:0:2}/$SHA/data"
  [ -f "$BLOBF" ] || fail "no blob file $BLOBF in the registry's storage"
  cp "$BLOBF" "$T/blob.good"
  python3 - "$BLOBF" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0xff; open(p, "wb").write(b)
PY
  : >"$LOG"
  layer "$T/cache-bad" badmirror --source-mirror "$MIRROR" >"$T/bad.json" 2>"$T/err" || fail "tampered mirror: $(cat "$T/err")"
  grep -qF "source mirror $MIRROR" "$T/err" && grep -qF "refusing it" "$T/err" || fail "wrong mirror bytes not refused: $(cat "$T/err")"; ok
  grep -qF "GET /upstream/$FILE 200" "$LOG" || fail "no fallback to upstream after wrong mirror bytes: $(cat "$LOG")"; ok
  [ "$(jq -r .layer "$T/bad.json")" = "$DIGEST" ] || fail "badmirror: another layer digest"; ok
  cp "$T/blob.good" "$BLOBF"
  kill "$STATIC_PID" && wait "$STATIC_PID" 2>/dev/null || true   # upstream gone
  curl -sf --max-time 5 "$BASE/upstream/$FILE" >/dev/null && fail "the upstream server still answers"
  KSIMG_SOURCE_MIRROR="$MIRROR" layer "$T/cache-reg" fromreg >"$T/reg.json" 2>"$T/err" || fail "mirror only: $(cat "$T/err")"
  grep -qF "from source mirror $MIRROR" "$T/err" || fail "not fetched from the mirror: $(cat "$T/err")"; ok
  [ "$(jq -r .layer "$T/reg.json")" = "$DIGEST" ] || fail "mirror-only build: another layer digest"; ok
  rc=0; layer "$T/cache-none" nomirror >/dev/null 2>"$T/err" || rc=$?
  [ "$rc" = 1 ] && grep -qF -- "--source-mirror" "$T/err" || fail "no upstream, no mirror: exit $rc: $(cat "$T/err")"; ok
else
  echo "note: docker-registry is not installed; the source mirror part was skipped"
fi
echo "toolchain_tarball: $checks checks passed"
