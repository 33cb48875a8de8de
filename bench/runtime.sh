#!/usr/bin/env bash
# The built-in runtime against podman (docs/runtime.md):
#
#   KSIMG_LAYOUT=DIR TAG=k4-mipsel bench/runtime.sh      # a layout holding a built cell image
#
# Rows (each ROUNDS times, default 3; medians):
#   builtin-cold   empty store: import the image's layers, check it out, `bwrap ... sh -c :`
#                  (ksimg shell --runtime builtin -- sh -c :)
#   builtin-warm   the same with the checkout cached
#   podman-cold    empty private podman storage: load the image (skopeo), `podman run ... sh -c :`
#                  (ksimg shell --runtime podman -- sh -c :)
#   podman-warm    the same with the image loaded
# With KBUILD_ARGS set (e.g. "5.10.223 --arch mipsel --source ~/linux-5.10.223 --defconfig
# tinyconfig --enable MIPS_MALTA --targets vmlinux"), also `ksimg kbuild` wall time per runtime,
# empty output and ccache dirs each (warm store / loaded image), and their ratio.
# Then `ksimg store du`: the store's bytes on disk for every image of the layout checked out
# vs the sum of the layers unpacked one by one (OSTree's dedup across layers and images).
# Figures depend on the machine's load; the ones in README were measured on a shared 2-core
# machine with other builds running.
set -euo pipefail
cd "$(dirname "$0")/.."
KSIMG=${KSIMG:-$PWD/build/ksimg}
TAG=${TAG:-k4-mipsel}
ROUNDS=${ROUNDS:-3}
LAYOUT=${KSIMG_LAYOUT:?set KSIMG_LAYOUT to a layout holding the cell image}
W=$(mktemp -d /var/tmp/ksimg-bench-runtime.XXXXXX)
trap 'podman rmi -af >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
cell=${TAG/-//}
export CONTAINERS_STORAGE_CONF="$W/storage.conf"
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s/g"\nrunroot = "%s/r"\n' "$W" "$W" >"$CONTAINERS_STORAGE_CONF"

secs() { local s; s=$(date +%s.%N); "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }; echo "$(date +%s.%N) - $s" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
shell() { (cd "$W" && "$KSIMG" -q shell --cell "$cell" --layout "$LAYOUT" --runtime "$@" -- sh -c :); }
declare -A t k
for _ in $(seq "$ROUNDS"); do
  rm -rf "$W/store"
  t[builtin-cold]+="$(KSIMG_STORE=$W/store secs shell builtin)"$'\n'
  t[builtin-warm]+="$(KSIMG_STORE=$W/store secs shell builtin)"$'\n'
  podman rmi -af >/dev/null 2>&1 || true
  t[podman-cold]+="$(secs shell podman)"$'\n'
  t[podman-warm]+="$(secs shell podman)"$'\n'
done
echo "time to a first command in $TAG (median of $ROUNDS, seconds):"
for r in builtin-cold builtin-warm podman-cold podman-warm; do
  printf '  %-13s %s\n' "$r" "$(printf '%s' "${t[$r]}" | median)"
done

if [ -n "${KBUILD_ARGS:-}" ]; then
  for rt in podman builtin; do
    rm -rf "$W/out-$rt" "$W/cc-$rt"
    # shellcheck disable=SC2086
    k[$rt]=$(KSIMG_STORE=$W/store secs "$KSIMG" -q kbuild $KBUILD_ARGS --layout "$LAYOUT" --runtime "$rt" \
      -o "$W/out-$rt" --ccache-dir "$W/cc-$rt")
    echo "kbuild --runtime $rt: ${k[$rt]} s"
  done
  cmp -s "$W/out-podman/vmlinux" "$W/out-builtin/vmlinux" && echo "vmlinux: identical" || echo "vmlinux: DIFFERENT"
  echo "kbuild wall builtin/podman: $(echo "scale=3; ${k[builtin]} / ${k[podman]}" | bc)"
fi

for tag in $(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$LAYOUT/index.json"); do
  KSIMG_STORE=$W/store "$KSIMG" -q store checkout --layout "$LAYOUT" --tag "$tag" >/dev/null
done
echo "store for every image of $LAYOUT:"
KSIMG_STORE=$W/store "$KSIMG" -q store du | sed 's/^/  /'
