#!/usr/bin/env bash
# Bad inputs to `ksimg kbuild`, each a clear one-line error with its exit code
# and nothing compiled: unknown arch and unsupported cell (2), wrong cell for --image (2),
# missing source (2), an unknown --targets name (2, on the host before the image is looked up,
# and in the image before anything runs), no podman on PATH (1, names the package), a corrupt tarball (3), a
# sha256 mismatch against the mirror's sha256sums.asc and against --sha256 (3), a tree of
# another version (2), an unknown symbol with --config-strict (2) and an option that did not
# stick (2) -- the last two stop in kbuild's config step, before any compile -- and a build
# stopped by SIGTERM (143, metadata.json says "killed"); and an image built with another kbuild
# is noticed and rebuilt before use.
# The k4/mipsel image comes from the lock with cached layers; the kernel tree from the
# kbuild_mipsel mirror (scripts/make-kernel-mirror). Skips (77) when a tool or the Debian
# archive is unavailable.
set -euo pipefail
: "${KSIMG_BUILD_DIR:?}"
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools podman skopeo mmdebstrap jq curl dpkg-deb xz sha256sum
need_static_server
need_debian bullseye
W="$KSIMG_TESTS_TMP/kbuild"               # shared with kbuild_mipsel: the .deb, the mirror, the tree
mkdir -p "$W"
shared_layer_cache
run_dir kbuild_errors
podman_storage
export KSIMG_LAYOUT="$T/oci" KSIMG_LOCK="$KSIMG_SRC/ksimg.lock.json"
checks=0

# expect CODE PATTERN ARGS...: ksimg exits CODE, its stderr matches PATTERN (kbuild's error, or
# ksimg's own) and ends with ksimg's one-line summary
# (EXPECT_PATH: the PATH ksimg runs with).
expect() {
  local code=$1 pat=$2 rc=0; shift 2
  PATH="${EXPECT_PATH:-$PATH}" "$KSIMG" "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "ksimg $*: exit $rc, want $code: $(tail -5 "$T/err")"
  grep -qE "$pat" "$T/err" || fail "ksimg $*: stderr lacks /$pat/: $(tail -3 "$T/err")"
  tail -1 "$T/err" | grep -q "^ksimg: " || fail "ksimg $*: no one-line summary last: $(tail -1 "$T/err")"
  if grep -qE '^  (CC|LD)  ' "$T/err" "$T/out"; then fail "ksimg $*: compiled something"; fi
  checks=$((checks + 1))
}

# No image needed: the resolver and the host's own checks.
expect 2 "unknown arch|sparc" kbuild 5.10.223 --arch sparc
expect 2 "k2.6|arm64" kbuild 2.6.31 --arch arm64
expect 2 "kernel source $T/nope does not exist" kbuild 5.10.223 --arch mipsel --source "$T/nope"
# An unknown target: refused before the image is looked up (the layout is still empty, so any
# later check would first build the cell image) or the source downloaded.
expect 2 'unknown target "bogus" in --targets \(allowed: vmlinux image' kbuild 5.10.223 --arch mipsel --targets vmlinux,bogus
grep -qE "building it|kernel source:" "$T/err" && fail "--targets bogus got past the image/source step: $(cat "$T/err")"
mkdir -p "$T/nopodman"
for t in skopeo; do ln -s "$(command -v $t)" "$T/nopodman/$t"; done
# With neither podman nor bwrap on PATH: --runtime auto names both missing packages, --runtime
# podman names podman's.
EXPECT_PATH="$T/nopodman" expect 1 "no runtime here: podman is not installed.*apt-get install bubblewrap" \
  kbuild 5.10.223 --arch mipsel --source "$T"
EXPECT_PATH="$T/nopodman" expect 1 "podman is not installed.*apt-get install podman" kbuild 5.10.223 --arch mipsel \
  --source "$T" --runtime podman

# The fixture mirror and a tree from it (kept between runs).
KSIMG_KERNEL_DEBS=${KSIMG_KERNEL_DEBS:-$W/debs} "$KSIMG_SRC/scripts/make-kernel-mirror" "$W/mirror" 5.10.223 >/dev/null \
  || fail "make-kernel-mirror"
tarball="$W/mirror/v5.x/linux-5.10.223.tar.xz"
tree="$W/tree-5.10.223"
if [ ! -f "$tree/Makefile" ]; then
  rm -rf "$tree.part" && mkdir -p "$tree.part"
  tar -xJf "$tarball" -C "$tree.part" --strip-components=1 && mv "$tree.part" "$tree"
fi

# A bad mirror: a truncated tarball listed with its own (matching) sha256, and a directory whose
# sums list other bytes.
mkdir -p "$T/bad/v5.x" "$T/lie/v5.x"
head -c 2000000 "$tarball" >"$T/bad/v5.x/linux-5.10.223.tar.xz"
(cd "$T/bad/v5.x" && sha256sum linux-5.10.223.tar.xz >sha256sums.asc)
cp "$T/bad/v5.x/linux-5.10.223.tar.xz" "$T/lie/v5.x/"
echo "$(printf '%064d' 0)  linux-5.10.223.tar.xz" >"$T/lie/v5.x/sha256sums.asc"
static_server "$T"
base=$STATIC_URL

# The image (built from the lock into the fresh layout; layers come from the cache), first with
# another kbuild (this one plus a trailing byte, as an older ksimg would have shipped): ksimg
# kbuild notices the launcher layer is not its own and rebuilds the image before using it.
cp "$KSIMG_BUILD_DIR/kbuild" "$T/kbuild-other" && printf '\n' >>"$T/kbuild-other"
KSIMG_KBUILD="$T/kbuild-other" "$KSIMG" build --cell k4/mipsel --no-smoke >"$T/build.out" 2>"$T/build.err" \
  || { tail -20 "$T/build.err" >&2; fail "ksimg build --cell k4/mipsel"; }
old_digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "k4-mipsel") | .digest' "$T/oci/index.json")
"$KSIMG" kbuild 5.10.223 --arch mipsel --source "$tree" -o "$T/dry" --dry-run >"$T/stale.out" 2>"$T/stale.err" \
  || fail "dry run over a stale image: $(tail -3 "$T/stale.err")"
grep -q "k4-mipsel in $T/oci was built by another ksimg: its kbuild or data is not this ksimg's" "$T/stale.err" \
  || fail "a stale image was not noticed: $(cat "$T/stale.err")"
new_digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "k4-mipsel") | .digest' "$T/oci/index.json")
[ "$new_digest" != "$old_digest" ] && grep -q "$new_digest" "$T/stale.out" "$T/stale.err" \
  || fail "the stale image was not rebuilt and used: $old_digest -> $new_digest"
"$KSIMG" kbuild 5.10.223 --arch mipsel --source "$tree" -o "$T/dry" --dry-run >"$T/stale.out" 2>"$T/stale.err"
if grep -q "another ksimg\|building it" "$T/stale.err"; then fail "an up-to-date image was rebuilt: $(cat "$T/stale.err")"; fi
checks=$((checks + 2))
k=(kbuild 5.10.223 --arch mipsel -o "$T/o" --ccache-dir "$T/cc")
# In the image, kbuild itself refuses it before the cell check's next step (nothing written).
rc=0; podman run --rm --network=none localhost/kernelsmith:k4-mipsel kbuild build 5.10.223 --targets bogus -o /tmp/o \
  >"$T/kb.out" 2>"$T/kb.err" || rc=$?
[ "$rc" = 2 ] && grep -q 'unknown target "bogus"' "$T/kb.err" || fail "in-image --targets bogus: exit $rc, $(cat "$T/kb.err")"
checks=$((checks + 1))

expect 3 "corrupt|truncated|damaged|extract|xz" "${k[@]}" --mirror "$base/bad"
expect 3 "sha256" "${k[@]}" --mirror "$base/lie"
expect 3 "sha256" "${k[@]}" --mirror "$base/bad" --sha256 "$(printf '%064d' 1)"
expect 2 "is for cell k4/mipsel.*k3/mipsel" kbuild 3.18.140 --arch mipsel --image localhost/kernelsmith:k4-mipsel \
  --source "$tree"
expect 2 "5.10.223|Makefile|version" kbuild 5.10.224 --arch mipsel --source "$tree" -o "$T/o2"
grep -q "^CONFIG_" "$T/o2/.config" 2>/dev/null && fail "a version mismatch reached the config step"

printf 'CONFIG_MIPS_MALTA=y\nCONFIG_KSIMG_NO_SUCH_SYMBOL=y\n' >"$T/strict.config"
expect 2 "config-strict.*CONFIG_KSIMG_NO_SUCH_SYMBOL" "${k[@]}" --source "$tree" --config "$T/strict.config" \
  --config-strict --targets vmlinux
jq -e '.status == "failed" and (.error | test("KSIMG_NO_SUCH_SYMBOL"))' "$T/o/metadata.json" >/dev/null \
  || fail "metadata after --config-strict: $(jq -c '{status, error}' "$T/o/metadata.json")"
checks=$((checks + 1))
# EXT4_FS depends on BLOCK, which tinyconfig turns off: the request cannot stick.
expect 2 "did not stick.*EXT4_FS" "${k[@]}" --source "$tree" --defconfig tinyconfig --enable EXT4_FS --targets vmlinux
jq -e '.status == "failed" and (.config.dropped | length) == 1 and (.targets.vmlinux.status // "none") != "ok"' "$T/o/metadata.json" \
  >/dev/null || fail "metadata after a dropped option: $(jq -c '{status, config, targets}' "$T/o/metadata.json")"
checks=$((checks + 1))
# A build stopped by SIGTERM: the signal reaches kbuild, metadata.json says "killed", exit 143.
"$KSIMG" kbuild 5.10.223 --arch mipsel --ccache-dir "$T/cc" --source "$tree" --defconfig tinyconfig --targets vmlinux -o "$T/k" >"$T/kill.out" 2>"$T/kill.err" &
kpid=$!
for _ in $(seq 600); do
  [ "$(jq -r '.targets.vmlinux.status // ""' "$T/k/metadata.json" 2>/dev/null)" = running ] && break; sleep 0.5
done
sleep 5; kill -TERM "$kpid"; rc=0; wait "$kpid" || rc=$?
[ "$rc" = 143 ] && grep -q "stopped by signal 15" "$T/kill.err" || fail "killed build: exit $rc, $(tail -2 "$T/kill.err")"
jq -e '.status == "killed" and .signal == "SIGTERM" and .targets.vmlinux.status == "killed" and .finished != null' \
  "$T/k/metadata.json" >/dev/null || fail "killed build: $(jq -c '{status, signal, targets}' "$T/k/metadata.json")"
checks=$((checks + 2))
[ -z "$(find "$tree" -newer "$T/build.out" -print -quit)" ] || fail "kbuild wrote into the read-only tree"
checks=$((checks + 1))
echo "kbuild_errors: $checks checks passed"
