#!/usr/bin/env bash
# `ksimg toolchain-layer` for script recipes (recipes/README.md "kind script"), built for
# real in the base image with podman, against fixture inputs made here and served on
# 127.0.0.1 by ksimg_static_server:
#  - a recipe whose steps compile a C program with the base's gcc into install_dir and add
#    a <triple>-gcc wrapper: the layer holds them (and install_dir's parents), the program
#    runs in the base image, the steps saw no network, read-only /inputs and the lock's
#    SOURCE_DATE_EPOCH; a second build gives the same layer digest although the steps write
#    a nanosecond stamp (so nothing was rebuilt), and downloads nothing;
#  - a wrong input sha256 exits 3 and caches nothing; a failing step exits 1 with the log's
#    last lines and its path; steps that install no <triple>-gcc exit 1;
#  - the kernel-only builder template against stand-in binutils/gcc/gmp/mpfr tarballs whose
#    configure scripts record their arguments (the template's gcc and binutils configure flags reach them);
#  - the musl-cross-make template stops early while the base has no g++ (it says so);
#  - the project's recipes: ko-* lock with their inputs, mcm-* lock with the musl-cross-make
#    archive pinned by its tree (nar_sha256);
#  - a recipe whose input is pinned by its tree: built from upstream, then its input pushed
#    to a real docker-registry (`ksimg mirror push`) and built again with the upstream file
#    gone (404) and only the source mirror serving it: the same layer digest.
# The base layer is built once (mmdebstrap, ~2 min) and kept with the lock that pins it in
# $KSIMG_TESTS_TMP/toolchain_script; podman storage is private to each run.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools mmdebstrap podman skopeo gpgv jq tar sha256sum
need_static_server
need_debian trixie   # the base layer is built from it
W="$KSIMG_TESTS_TMP/toolchain_script"   # kept between runs: the base layer's cache entries + its lock
run_dir toolchain_script
# Each run has its own download cache (inputs downloaded, trees built afresh), seeded with
# hard links to the base layer kept in $W; save_base puts the base entries back after a build.
mkdir -p "$W/cache/layers" "$W/cache/sha256" "$T/cache"
cp -al "$W/cache/layers" "$W/cache/sha256" "$T/cache/"
save_base() {
  rm -rf "$W/cache.new" && mkdir -p "$W/cache.new/layers" "$W/cache.new/sha256"
  for rec in "$T/cache/layers"/base-*.json; do
    [ -f "$rec" ] || continue
    ln "$rec" "$W/cache.new/layers/"
    ln "$T/cache/sha256/$(jq -r '.descriptor.digest | ltrimstr("sha256:")' "$rec")" "$W/cache.new/sha256/"
  done
  rm -rf "$W/cache" && mv "$W/cache.new" "$W/cache"
}
export KSIMG_CACHE="$T/cache" KSIMG_JOBS=2
# podman's storage is private to the run, at a short path: podman 4.3 took 20 s per `podman
# run` with its storage below a long path such as $KSIMG_TESTS_TMP (measured here).
podman_storage
checks=0
ok() { checks=$((checks + 1)); }  # counted silently; the last line prints the total

# --- Fixture inputs, served by the static server.
WWW="$T/www"
mkdir -p "$WWW" "$T/src/hello-1.0" "$T/src/other-1.0"
cat >"$T/src/hello-1.0/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from a script recipe"); return 0; }
C
echo "not used" >"$T/src/other-1.0/README"
tgz() { tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$T/src" -cf - "$1" | gzip -n >"$WWW/$1.tar.gz"; }
tgz hello-1.0
tgz other-1.0
# Stand-in GNU sources for the kernel-only template (tests/data/fake-gnu: a configure that
# records its arguments, make goals that install fake tools).
for p in binutils-2.27 gcc-4.4.7; do
  mkdir -p "$T/src/$p" && cp "$KSIMG_SRC/tests/data/fake-gnu/configure" "$KSIMG_SRC/tests/data/fake-gnu/build.sh" "$T/src/$p/"
  chmod 755 "$T/src/$p/configure" "$T/src/$p/build.sh"
  tgz "$p"
done
for p in gmp-4.3.2 mpfr-2.4.2; do mkdir -p "$T/src/$p" && echo "$p" >"$T/src/$p/README" && tgz "$p"; done
sha() { sha256sum "$WWW/$1" | cut -d' ' -f1; }

static_server "$WWW"
LOG="$T/server.log"
BASE=$STATIC_URL
input() { jq -n --arg n "$1" --arg u "$BASE/$1" --arg s "${2:-$(sha "$1")}" '{name: $n, urls: [$u], sha256: $s}'; }

# --- The project's data plus test recipes.
mkdir -p "$T/data"
cp -r "$KSIMG_SRC/matrix" "$KSIMG_SRC/recipes" "$KSIMG_SRC/layers" "$T/data/"
TRIPLE=x86_64-ksimgtest-linux
recipe() {  # recipe NAME BUILDER INPUTS-JSON STEPS-JSON|null [jq filter]
  jq -n --arg name "$1" --arg b "$2" --argjson in "$3" --argjson steps "$4" --arg triple "$TRIPLE" \
    '{name: $name, kind: "script", arch: "x86_64", gcc: "14", libc: "glibc (test)", triple: $triple,
      builder: $b, install_dir: ("/opt/ksimg-test/" + $name), inputs: $in}
     + (if $steps == null then {} else {steps: $steps} end)' | jq "${5:-.}" >"$T/data/recipes/$1.json"
}
cat >"$T/hello-steps.json" <<'JSON'
[
  "mkdir -p \"$PREFIX/bin\" \"$PREFIX/share\"",
  "tar -xzf \"$INPUTS/hello-1.0.tar.gz\"",
  "gcc -O2 -o \"$PREFIX/bin/hello\" hello-1.0/hello.c",
  "printf '%s\\n' '#!/bin/sh' 'exec gcc \"$@\"' >\"$PREFIX/bin/$TRIPLE-gcc\"",
  "chmod 755 \"$PREFIX/bin/$TRIPLE-gcc\"",
  "date +%s%N >\"$PREFIX/share/build-stamp\"",
  "ls /sys/class/net >\"$PREFIX/share/net\"",
  "if touch /inputs/x 2>/dev/null; then echo rw; else echo ro; fi >\"$PREFIX/share/inputs\"",
  "echo \"$SOURCE_DATE_EPOCH $PWD $CROSS_COMPILE $JOBS\" >\"$PREFIX/share/env\"",
  "echo \"$PATH\" >\"$PREFIX/share/path\""
]
JSON
recipe script-test-hello kernel-only "[$(input hello-1.0.tar.gz)]" "$(cat "$T/hello-steps.json")"
WRONG=$(printf 'not the tarball' | sha256sum | cut -d' ' -f1)
recipe script-test-wrongsha kernel-only "[$(input other-1.0.tar.gz "$WRONG")]" '["true"]'
recipe script-test-fails kernel-only "[$(input hello-1.0.tar.gz)]" \
  '["echo marker-before-failure", "echo more output", "exit 7"]'
recipe script-test-nogcc kernel-only "[$(input hello-1.0.tar.gz)]" '["mkdir -p \"$PREFIX/bin\""]'
ko_inputs="[$(input binutils-2.27.tar.gz), $(input gcc-4.4.7.tar.gz), $(input gmp-4.3.2.tar.gz), $(input mpfr-2.4.2.tar.gz)]"
recipe ko-test-template kernel-only "$ko_inputs" null \
  '.arch = "mipsel" | .gcc = "4.4.7" | .binutils = "2.27" | .triple = "mipsel-linux" | .gcc_configure = ["--with-arch=mips32r2"]'
recipe mcm-test-template musl-cross-make "[$(input hello-1.0.tar.gz)]" null '.gcc = "6.5.0" | .triple = "x86_64-linux-musl"'
# script-test-tree: hello-1.0.tar.gz pinned by the NAR hash of its tree; deterministic steps.
TREE_NAR=$("$KSIMG" hash --nar "$WWW/hello-1.0.tar.gz" | sed -n 2p)
recipe script-test-tree kernel-only "[$(jq -n --arg u "$BASE/hello-1.0.tar.gz" --arg n "$TREE_NAR" \
  '{name: "hello-1.0.tar.gz", urls: [$u], nar_sha256: $n}')]" \
  "$(jq -c 'map(select(test("build-stamp") | not))' "$T/hello-steps.json")"
TEST_RECIPES=(script-test-tree script-test-hello script-test-wrongsha script-test-fails script-test-nogcc ko-test-template mcm-test-template)
K() { "$KSIMG" --data-dir "$T/data" "$@"; }

# --- The lock: the base pinned once (kept in $W), then the test recipes.
if [ ! -s "$W/lock.json" ] || [ "$KSIMG_SRC/layers/base.json" -nt "$W/lock.json" ] \
   || ! jq -e '.recipes.base' "$W/lock.json" >/dev/null; then
  K lock --recipe base --lock "$T/base-lock.json" >/dev/null 2>"$T/err" || fail "lock --recipe base: $(cat "$T/err")"
  mv "$T/base-lock.json" "$W/lock.json"
fi
cp "$W/lock.json" "$T/lock.json"
args=(); for r in "${TEST_RECIPES[@]}" ko-gcc4.4.7-mipsel mcm-gcc6.5.0-x86_64; do args+=(--recipe "$r"); done
K lock --lock "$T/lock.json" "${args[@]}" >"$T/lock.out" 2>"$T/err" || fail "lock: $(cat "$T/err")"
jq -e --arg s "$(sha hello-1.0.tar.gz)" '.recipes["script-test-hello"] | .status == "locked"
  and .inputs == [{name: "hello-1.0.tar.gz", urls: [.inputs[0].urls[0]], sha256: $s}]' "$T/lock.json" >/dev/null \
  || fail "script-test-hello is not locked with its input: $(jq -c '.recipes["script-test-hello"]' "$T/lock.json")"; ok
jq -e '.recipes["ko-gcc4.4.7-mipsel"] | .status == "locked" and (.inputs | map(.name)) ==
  ["binutils-2.27.tar.bz2", "gcc-4.4.7.tar.bz2", "gmp-4.3.2.tar.bz2", "mpfr-2.4.2.tar.bz2"]' "$T/lock.json" >/dev/null \
  || fail "ko-gcc4.4.7-mipsel: $(jq -c '.recipes["ko-gcc4.4.7-mipsel"]' "$T/lock.json")"; ok
jq -e '.recipes["mcm-gcc6.5.0-x86_64"] | .status == "locked"
  and .inputs[0].nar_sha256 == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="' "$T/lock.json" >/dev/null \
  || fail "mcm-gcc6.5.0-x86_64 is not locked with its tree pin: $(jq -c '.recipes["mcm-gcc6.5.0-x86_64"]' "$T/lock.json")"; ok
! grep -q "pending" "$T/err" || fail "lock warned about a pending recipe: $(cat "$T/err")"; ok
EPOCH=$(jq .source_date_epoch "$T/lock.json")

layer() {  # layer RECIPE LAYOUT TAG [flags]: the JSON result on stdout, diagnostics in $T/err
  local r=$1 l=$2 t=$3
  shift 3
  K toolchain-layer --recipe "$r" --lock "$T/lock.json" --layout "$l" --tag "$t" --json "$@" 2>"$T/err"
}
key_dirs() { find "$KSIMG_CACHE/script" -mindepth 1 -maxdepth 1 -type d ! -name oci ! -name logs 2>/dev/null | sort; }

# --- First build: the steps run in the base image; the layer holds their output at install_dir.
INSTALL=/opt/ksimg-test/script-test-hello
layer script-test-hello "$T/oci" first >"$T/first.json" || fail "first build: $(tail -30 "$T/err")"
save_base
grep -q "script-test-hello: running the build steps in localhost/kernelsmith:script-base-" "$T/err" \
  || fail "the first build did not run the steps: $(cat "$T/err")"; ok
grep -qF "GET /hello-1.0.tar.gz 200" "$LOG" || fail "the input was not downloaded: $(cat "$LOG")"; ok
DIGEST=$(jq -r .layer "$T/first.json")
jq -e --arg p "$TRIPLE-" --arg d "$INSTALL/bin" --arg s "$(sha hello-1.0.tar.gz)" \
  '.cross_compile == $p and .path_dirs == [$d] and .source == "script kernel-only"
   and .packages == ["hello-1.0.tar.gz=sha256:" + $s]' "$T/first.json" >/dev/null \
  || fail "result: $(cat "$T/first.json")"; ok
BLOB="$T/oci/blobs/sha256/${DIGEST#sha256:}"
tar -tzf "$BLOB" >"$T/members"
for m in opt/ opt/ksimg-test/ "${INSTALL#/}/" "${INSTALL#/}/bin/hello" "${INSTALL#/}/bin/$TRIPLE-gcc"; do
  grep -qx "$m" "$T/members" || fail "the layer lacks $m: $(cat "$T/members")"
done; ok
[ "$(wc -l <"$T/members")" = 12 ] || fail "unexpected members: $(cat "$T/members")"; ok
mkdir -p "$T/x" && tar -xzf "$BLOB" -C "$T/x"
S="$T/x$INSTALL/share"
[ "$(cat "$S/net")" = lo ] || fail "the steps had network interfaces: $(cat "$S/net")"; ok
[ "$(cat "$S/inputs")" = ro ] || fail "/inputs was writable"; ok
[ "$(cat "$S/env")" = "$EPOCH /build $TRIPLE- 2" ] || fail "env: $(cat "$S/env") (want '$EPOCH /build $TRIPLE- 2')"; ok
case "$(cat "$S/path")" in "$INSTALL/bin:"*) ok ;; *) fail "PATH: $(cat "$S/path")" ;; esac
tar -tvzf "$BLOB" | awk '{print $4, $5}' | sort -u >"$T/times"
[ "$(wc -l <"$T/times")" = 1 ] || fail "mtimes not clamped to one epoch: $(cat "$T/times")"; ok
IMG=$(podman images --format '{{.Repository}}:{{.Tag}}' | grep ':script-base-' | head -1)
[ -n "$IMG" ] || fail "no script-base image in podman's storage"
out=$(podman run --rm --network=none -v "$T/x$INSTALL:$INSTALL:ro" "$IMG" "$INSTALL/bin/hello") \
  || fail "bin/hello does not run in the base image"
[ "$out" = "hello from a script recipe" ] || fail "bin/hello printed: $out"; ok
podman run --rm --network=none -v "$T/x$INSTALL:$INSTALL:ro" "$IMG" "$INSTALL/bin/$TRIPLE-gcc" --version \
  | grep -q "gcc" || fail "$TRIPLE-gcc does not run in the base image"; ok
KEY_DIR=$(key_dirs)
[ -n "$KEY_DIR" ] && [ "$(echo "$KEY_DIR" | wc -l)" = 1 ] || fail "want one cached build, have: $KEY_DIR"
[ -d "$KEY_DIR/root$INSTALL/bin" ] && grep -q "^+ gcc -O2" "$KEY_DIR/build.log" \
  && jq -e '.recipe == "script-test-hello"' "$KEY_DIR/build.json" >/dev/null || fail "cache entry $KEY_DIR"; ok

# --- Second build into a fresh layout: the cached tree (same digest despite the stamp), no
# download; with the closure check against the base image the steps ran in.
before=$(wc -l <"$LOG")
layer script-test-hello "$T/oci2" second --base-layout "$KSIMG_CACHE/script/oci:${IMG##*:}" >"$T/second.json" \
  || fail "second build: $(tail -30 "$T/err")"
jq -e '.closure.binaries >= 1' "$T/second.json" >/dev/null || fail "no closure check: $(cat "$T/second.json")"; ok
[ "$(jq -r .layer "$T/second.json")" = "$DIGEST" ] || fail "the second build rebuilt: another layer digest"; ok
grep -q "script-test-hello: using the cached build" "$T/err" || fail "no cache-hit line: $(cat "$T/err")"; ok
[ "$(wc -l <"$LOG")" = "$before" ] || fail "the second build downloaded: $(tail -n +$((before + 1)) "$LOG")"; ok
keys_before=$(key_dirs)

# --- A wrong input sha256: exit 3, both digests named, nothing cached.
rc=0; layer script-test-wrongsha "$T/oci" wrong >/dev/null || rc=$?
[ "$rc" = 3 ] || fail "wrong sha256: exit $rc (expected 3): $(cat "$T/err")"; ok
grep -qF "expected $WRONG, got $(sha other-1.0.tar.gz)" "$T/err" || fail "digests not named: $(cat "$T/err")"; ok
[ ! -e "$KSIMG_CACHE/sha256/$(sha other-1.0.tar.gz)" ] && [ ! -e "$KSIMG_CACHE/sha256/$WRONG" ] \
  || fail "a mismatching download was cached"; ok

# --- A failing step: exit 1, the log's last lines and its path; nothing cached.
rc=0; layer script-test-fails "$T/oci" fails >/dev/null || rc=$?
[ "$rc" = 1 ] || fail "failing step: exit $rc (expected 1): $(cat "$T/err")"; ok
grep -q "the build steps failed (exit 7)" "$T/err" && grep -q "| marker-before-failure" "$T/err" \
  && grep -q "| more output" "$T/err" || fail "no log tail: $(cat "$T/err")"; ok
FLOG=$(grep -o "the log is [^,]*" "$T/err" | cut -d' ' -f4)
[ -f "$FLOG" ] && grep -q marker-before-failure "$FLOG" && [[ "$FLOG" == "$KSIMG_CACHE/script/logs/"* ]] \
  || fail "the log was not kept in the cache: '$FLOG'"; ok

# --- Steps that succeed without installing <triple>-gcc: exit 1, nothing cached.
rc=0; layer script-test-nogcc "$T/oci" nogcc >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q "installed no /opt/ksimg-test/script-test-nogcc/bin/$TRIPLE-gcc" "$T/err" \
  || fail "no gcc: exit $rc: $(cat "$T/err")"; ok
[ "$(key_dirs)" = "$keys_before" ] || fail "a failed build left a cache entry: $(key_dirs)"; ok

# --- The kernel-only template against stand-in GNU sources (cross: mipsel-linux, gcc 4.4.7).
KO=/opt/ksimg-test/ko-test-template
layer ko-test-template "$T/oci" ko >"$T/ko.json" || fail "ko template: $(tail -30 "$T/err")"
mkdir -p "$T/ko" && tar -xzf "$T/oci/blobs/sha256/$(jq -r '.layer | ltrimstr("sha256:")' "$T/ko.json")" -C "$T/ko"
R="$T/ko$KO"
for f in bin/mipsel-linux-gcc bin/mipsel-linux-as bin/mipsel-linux-ld lib/gcc/mipsel-linux/4.4.7/libgcc.a; do
  [ -e "$R/$f" ] || fail "the template did not install $f"
done; ok
G="$R/share/ksimg-test/gcc.configure" B="$R/share/ksimg-test/binutils.configure"
for l in "CC=gcc -std=gnu89 -fgnu89-inline" "arg --target=mipsel-linux" "arg --prefix=$KO" "arg --enable-languages=c" \
         "arg --without-headers" "arg --with-newlib" "arg --disable-threads" "arg --disable-shared" \
         "arg --disable-libssp" "arg --disable-decimal-float" "arg --with-arch=mips32r2" "in-tree gmp" "in-tree mpfr"; do
  grep -qxF -- "$l" "$G" || fail "gcc configure lacks '$l': $(cat "$G")"
done; ok
! grep -q "in-tree mpc" "$G" || fail "an mpc appeared without an mpc input"; ok
grep -q "^CFLAGS=.*-fpermissive" "$G" || fail "host CFLAGS: $(grep CFLAGS "$G")"; ok
for l in "arg --target=mipsel-linux" "arg --disable-werror" "arg --disable-nls" "arg --disable-multilib"; do
  grep -qxF -- "$l" "$B" || fail "binutils configure lacks '$l': $(cat "$B")"
done; ok
grep -qx "all-gcc MAKEINFO=true" "$R/share/ksimg-test/gcc.make" \
  && grep -qx "install-target-libgcc MAKEINFO=true" "$R/share/ksimg-test/gcc.make" \
  || fail "gcc make goals: $(cat "$R/share/ksimg-test/gcc.make")"; ok

# --- A tree-pinned input: built from upstream, then from the source mirror alone.
if [ -x /usr/bin/docker-registry ]; then
  layer script-test-tree "$T/oci" tree-up >"$T/tree-up.json" || fail "tree-pinned build: $(tail -30 "$T/err")"
  [ -n "$(ls "$KSIMG_CACHE/nar")" ] || fail "the tree-pinned input is not in the cache's nar/"; ok
  RPORT=$(start_registry "$T/reg")
  K mirror push "127.0.0.1:$RPORT/sources" --recipe script-test-tree >"$T/push.out" 2>"$T/err" \
    || fail "mirror push: $(cat "$T/err")"
  # Upstream gone, the download cache's copy and the cached build dropped: only the mirror has it.
  mv "$WWW/hello-1.0.tar.gz" "$T/hello.aside"
  rm -rf "$KSIMG_CACHE/nar"
  for d in $(key_dirs); do jq -e '.recipe == "script-test-tree"' "$d/build.json" >/dev/null 2>&1 && rm -rf "$d"; done
  layer script-test-tree "$T/oci" tree-mirror --source-mirror "127.0.0.1:$RPORT/sources" >"$T/tree-mirror.json" \
    || fail "build from the mirror: $(tail -30 "$T/err")"
  grep -q "script-test-tree: running the build steps" "$T/err" || fail "the mirror build did not run the steps"; ok
  grep -qF "fetched hello-1.0.tar.gz from source mirror 127.0.0.1:$RPORT/sources" "$T/err" \
    || fail "the input did not come from the mirror: $(cat "$T/err")"; ok
  ! grep -qF "GET /hello-1.0.tar.gz 404" "$LOG" || fail "upstream was asked although the mirror had it"; ok
  [ "$(jq -r .layer "$T/tree-mirror.json")" = "$(jq -r .layer "$T/tree-up.json")" ] \
    || fail "the mirror build gave another layer digest"; ok
  mv "$T/hello.aside" "$WWW/hello-1.0.tar.gz"
else
  echo "note: docker-registry is not installed; the source mirror build was skipped"
fi

# --- The musl-cross-make template needs g++, which the base lacks today: it stops and says so.
if jq -e '.recipes.base.packages | map(.name) | index("g++")' "$T/lock.json" >/dev/null; then
  echo "note: the base has g++; the musl-cross-make refusal check does not apply"
else
  rc=0; layer mcm-test-template "$T/oci" mcm >/dev/null || rc=$?
  [ "$rc" = 1 ] && grep -q "needs g++" "$T/err" && grep -q "add g++ to layers/base.json" "$T/err" \
    || fail "mcm template without g++: exit $rc: $(cat "$T/err")"; ok
fi
echo "toolchain_script: $checks checks passed"
