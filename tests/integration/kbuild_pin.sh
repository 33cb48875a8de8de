#!/usr/bin/env bash
# The images.lock.json path of `ksimg kbuild`: a k4-mipsel image is pushed to a
# real docker-registry on 127.0.0.1 with `ksimg push`, which pins it in images.lock.json; then
# `ksimg kbuild 5.10.223 --arch mipsel --dry-run` with an empty layout must take the pin (not
# build the cell), `podman pull` exactly the pinned reference, run kbuild in it and hand it the
# pinned digest (kbuild prints the image reference and digest it was given; a real build writes
# the same values to metadata.json image.ref/image.digest). A second run finds the pinned image
# in podman's storage and pulls nothing; a pin whose registry is gone fails with exit 1 naming
# the reference and the images.lock.json entry. With the registry gone, a pinned digest still in
# the layout it was pushed from is used from there, contacting nothing. To stay fast the pushed image is a stand-in for the cell image: the real
# kbuild binary with the cell's environment and label, no toolchain (a dry run needs none).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools podman
KBUILD_BIN=${KSIMG_KBUILD:-$KSIMG_BUILD_DIR/kbuild}
[ -x "$KBUILD_BIN" ] || skip "no $KBUILD_BIN (build the kbuild target)"

scratch kbuild_pin
mkdir -p "$T/tree" "$T/img/usr/local/bin" "$T/empty"
podman_storage

# The stand-in image and its push: the lock pins the pushed digest.
cp "$KBUILD_BIN" "$T/img/usr/local/bin/kbuild"
"$KSIMG" -q image build --layer "$T/img" --tag k4-mipsel --layout "$T/oci" --cmd kbuild \
  --env PATH=/usr/local/bin:/usr/bin:/bin --env KSIMG_ERA=k4 --env KSIMG_ARCH=mipsel \
  --env KSIMG_RECIPE=debian-bullseye-gcc10-mipsel --label org.kernelsmith.cell=k4/mipsel >/dev/null
D=$(tag_digest "$T/oci" k4-mipsel)
REG=$(start_registry "$T/reg")
export KSIMG_IMAGES_LOCK="$T/images.lock.json"
"$KSIMG" -q push --tag k4-mipsel --to "127.0.0.1:$REG/cells" --layout "$T/oci" >/dev/null
REF="127.0.0.1:$REG/cells/kernelsmith:k4-mipsel@$D"
[ "$(jq -r '.images["k4-mipsel"].reference' images.lock.json)" = "$REF" ] || fail "lock: $(cat images.lock.json)"
ok "k4-mipsel pushed and pinned as $REF"
printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$REG" >"$T/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$T/registries.conf"   # plain HTTP on 127.0.0.1

# A tree that passes the host's checks (a dry run reads nothing else of it).
printf 'VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 223\nEXTRAVERSION =\n' >"$T/tree/Makefile"
k=(kbuild 5.10.223 --arch mipsel --source "$T/tree" --layout "$T/empty" -o "$T/out" --dry-run)
"$KSIMG" "${k[@]}" >run1.out 2>run1.err || { cat run1.err; fail "ksimg kbuild --dry-run with a pin"; }
grep -qF "pulling pinned $REF" run1.err || fail "no pull of the pin: $(cat run1.err)"
grep -qF "image $REF (images.lock.json pin)" run1.err || fail "the pin was not used: $(cat run1.err)"
grep -q "building it" run1.err && fail "the cell image was built although pinned"
[ ! -e "$T/empty/index.json" ] || fail "the layout was written"
ok "the pin is taken and pulled; the empty layout is left alone"
grep -qE "^image +$REF \\(digest $D\\)$" run1.out || fail "kbuild was not given the pinned digest: $(cat run1.out)"
grep -qE "^kernel +5\.10\.223 \(k4, cell k4/mipsel" run1.out || fail "no plan: $(head -3 run1.out)"
ok "kbuild in the pulled image ran with the pinned reference and digest"
[ "$(podman image inspect --format '{{.Digest}}' "$REF")" = "$D" ] || fail "podman's image has another digest"
ok "podman's storage holds the pinned digest"

"$KSIMG" "${k[@]}" >run2.out 2>run2.err || { cat run2.err; fail "second run"; }
grep -q "pulling pinned" run2.err && fail "the second run pulled again"
grep -qF "image $REF (images.lock.json pin)" run2.err || fail "second run: $(cat run2.err)"
ok "a second run uses the stored pinned image without pulling"

# A pin is a digest, not a host: the registry stops, podman forgets the image, and the layout
# that was pushed from still holds the digest: kbuild runs from it without contacting anything.
stop_tracked
podman rmi -af >/dev/null 2>&1 || true
curl -sf --max-time 2 "http://127.0.0.1:$REG/v2/" >/dev/null && fail "the registry is still up"
k3=(kbuild 5.10.223 --arch mipsel --source "$T/tree" --layout "$T/oci" -o "$T/out" --dry-run)
"$KSIMG" "${k3[@]}" >run3.out 2>run3.err || { cat run3.err; fail "a pinned digest in the layout, registry gone"; }
grep -q "pulling pinned" run3.err && fail "the pin was pulled although the layout has it: $(cat run3.err)"
grep -qF "the pinned digest is in $T/oci (tag k4-mipsel)" run3.err || fail "layout not named: $(cat run3.err)"
grep -qF "images.lock.json pin $REF, found in the layout" run3.err || fail "the pin was not used: $(cat run3.err)"
grep -qE "^image +$REF \\(digest $D\\)$" run3.out || fail "kbuild was not given the pinned digest: $(cat run3.out)"
ok "the registry gone, the pinned digest is taken from the layout and kbuild gets the pinned reference"

# A pin that is nowhere local and whose registry is gone: exit 1, naming the reference and the
# images.lock.json entry to fix.
gone="127.0.0.1:$(free_port)/cells/kernelsmith:k4-mipsel@$D"
jq --arg r "$gone" '.images["k4-mipsel"].reference = $r' images.lock.json >gone.lock.json
podman rmi -af >/dev/null 2>&1 || true
expect 1 "cannot pull the pinned image $gone" "$KSIMG" "${k[@]}" --images-lock "$T/gone.lock.json"
grep -qF "(entry \"k4-mipsel\" of $T/gone.lock.json;" err.txt || fail "the entry is not named: $(cat err.txt)"
grep -qF "fix that entry" err.txt || fail "no fix named: $(cat err.txt)"
ok "an unreachable pin fails with exit 1 naming the reference and the images.lock.json entry"
echo "kbuild_pin: PASS: $CHECKS checks"
