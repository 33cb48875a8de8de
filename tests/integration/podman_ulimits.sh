#!/usr/bin/env bash
# podman on a host whose hard RLIMIT_NOFILE is below podman's default (1048576) and that cannot
# raise it (no CAP_SYS_RESOURCE: CI containers, this sandbox): podman's defaults fail with
# "error setting rlimit type 7", and ksimg must pass its own `--ulimit nofile=H:H` so that
# `ksimg kbuild` works with podman's default configuration (an empty CONTAINERS_CONF: no
# default_ulimits), never touching containers.conf. The image is a stand-in for a cell image
# (the real kbuild, the cell's env and label, no toolchain): a --dry-run needs nothing else.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools podman skopeo jq
KBUILD_BIN=${KSIMG_KBUILD:-$KSIMG_BUILD_DIR/kbuild}
[ -x "$KBUILD_BIN" ] || skip "no $KBUILD_BIN (build the kbuild target)"
run_dir podman_ulimits
cd "$T"

S=$(mktemp -d /tmp/ksU.XXXXXX)   # private podman storage, podman's default configuration
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/g"\nrunroot = "%s/r"\n' "$S" "$S" >"$S/storage.conf"
: >"$S/containers.conf"
export CONTAINERS_STORAGE_CONF="$S/storage.conf" CONTAINERS_CONF="$S/containers.conf"
LIB_CLEANUP+=("podman rmi -af >/dev/null 2>&1; rm -rf '$S'")
# Keep the hard limit below podman's default (lowering it needs no privilege).
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 20000 ] && ulimit -Hn 20000
ulimit -Sn "$(ulimit -Hn)"

mkdir -p img/usr/local/bin tree
cp "$KBUILD_BIN" img/usr/local/bin/kbuild
"$KSIMG" -q image build --layer "$T/img" --tag k4-mipsel --layout "$T/oci" --cmd kbuild \
  --env PATH=/usr/local/bin:/usr/bin:/bin --env KSIMG_ERA=k4 --env KSIMG_ARCH=mipsel \
  --env KSIMG_RECIPE=debian-bullseye-gcc10-mipsel --label org.kernelsmith.cell=k4/mipsel >/dev/null
IMG=localhost/kernelsmith:k4-mipsel
skopeo copy --quiet "oci:$T/oci:k4-mipsel" "containers-storage:$IMG" || fail "skopeo copy"

# The premise: podman's own defaults fail here (on a host that may raise limits, say so).
if podman run --rm --network=none "$IMG" kbuild info >plain.out 2>plain.err; then
  echo "note: podman's defaults work on this host (it may raise RLIMIT_NOFILE); the fix is not exercised"
else
  grep -q "error setting rlimit" plain.err || fail "podman failed otherwise: $(cat plain.err)"
  ok "podman run with its defaults fails here: $(grep -o 'error setting rlimit type [0-9]*' plain.err | head -1)"
fi

printf 'VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 223\nEXTRAVERSION =\n' >tree/Makefile
"$KSIMG" -v kbuild 5.10.223 --arch mipsel --source "$T/tree" --image "$IMG" -o "$T/out" --dry-run \
  >run.out 2>run.err || { cat run.err; fail "ksimg kbuild --dry-run with podman's default configuration"; }
grep -qE "^kernel +5\.10\.223 \(k4, cell k4/mipsel" run.out || fail "no plan: $(head -3 run.out)"
grep -qF -- "--ulimit=nofile=$(ulimit -Hn):$(ulimit -Hn)" run.err || fail "no --ulimit in: $(grep running run.err)"
ok "ksimg kbuild ran in podman with $(grep -o -- '--ulimit=[^ ]*' run.err | tr '\n' ' ')"
[ ! -s "$S/containers.conf" ] || fail "containers.conf was written"
ok "containers.conf untouched"
echo "podman_ulimits: PASS: $CHECKS checks"
