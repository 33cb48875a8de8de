#!/usr/bin/env bash
# `ksimg verify REF`: verify by rebuild against the real docker-registry. The k4/mipsel cell image
# is built from the committed lock (layers from the cells_build cache) and pushed; verify pulls it,
# rebuilds it from the lock and finds the same digest (exit 0). An image carrying the same cell and
# inputs labels but other layers is refused with exit 3, naming the first differing layer and the
# first differing tar member; an image from other inputs exits 2. Skips (77) without mmdebstrap
# or the Debian archive (a cold cache builds the base layer).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools mmdebstrap jq curl dpkg-deb
need_debian bullseye
shared_layer_cache
scratch verify
LOCK="$KSIMG_SRC/ksimg.lock.json"

"$KSIMG" -q build --cell k4/mipsel --lock "$LOCK" --layout "$T/oci" --no-smoke >/dev/null 2>"$T/build.err" ||
  { cat "$T/build.err"; fail "ksimg build --cell k4/mipsel"; }
D=$(tag_digest "$T/oci" k4-mipsel)
REG=$(start_registry "$T/reg")
"$KSIMG" -q push --cell k4/mipsel --to "127.0.0.1:$REG/ns" --layout "$T/oci" --lock "$LOCK" --images-lock "$T/il.json" >/dev/null

echo "== the pushed image rebuilds to the same digest"
start=$(date +%s)
out=$("$KSIMG" -q verify "127.0.0.1:$REG/ns/kernelsmith:k4-mipsel" --lock "$LOCK" --layout "$T/re") || fail "verify: $out"
[ "$out" = "127.0.0.1:$REG/ns/kernelsmith:k4-mipsel $D verified: rebuilt from the lock, same digest" ] || fail "verify printed: $out"
ok "verify rebuilt k4/mipsel from the lock: $D ($(( $(date +%s) - start ))s)"
imm=$(jq -r '.images["k4-mipsel"].tags[1]' "$T/il.json")
"$KSIMG" -q verify "127.0.0.1:$REG/ns/kernelsmith:$imm" --lock "$LOCK" >/dev/null || fail "verify of the immutable tag $imm"
ok "and by its immutable tag $imm"

echo "== an image that is not what the lock builds"
inputs=$("$KSIMG" inspect "$T/oci:k4-mipsel" --json | jq -r '.labels["org.kernelsmith.inputs-sha256"]')
[ ${#inputs} = 64 ] || fail "the cell image has no inputs label: $inputs"
recipe=$("$KSIMG" inspect "$T/oci:k4-mipsel" --json | jq -r '.labels["org.kernelsmith.recipe"]')
make_images "$T/fake"
"$KSIMG" -q image build --layer "$T/trees/base" --layer "$T/trees/tool1" --tag k4-mipsel --layout "$T/fake" --cmd true \
  --label org.kernelsmith.cell=k4/mipsel --label "org.kernelsmith.recipe=$recipe" \
  --label "org.kernelsmith.inputs-sha256=$inputs" >/dev/null
"$KSIMG" -q push --tag k4-mipsel --to "127.0.0.1:$REG/fake" --layout "$T/fake" --images-lock "$T/il2.json" >/dev/null
expect 3 "but the lock rebuilds $D: layer 1 differs (first differing member: rebuilt " \
  "$KSIMG" -q verify "127.0.0.1:$REG/fake/kernelsmith:k4-mipsel" --lock "$LOCK"
grep -q "; registry [^ ]*: type " err.txt || fail "the first differing member is not named: $(cat err.txt)"
[ "$(wc -l <err.txt)" = 1 ] || fail "not one line: $(cat err.txt)"
ok "a look-alike image exits 3 naming layer 1 and its first differing member"
"$KSIMG" -q image build --layer "$T/trees/base" --tag k4-mipsel --layout "$T/other" --cmd true \
  --label org.kernelsmith.cell=k4/mipsel --label "org.kernelsmith.recipe=$recipe" \
  --label "org.kernelsmith.inputs-sha256=$(printf other | sha256sum | cut -d' ' -f1)" >/dev/null
"$KSIMG" -q push --tag k4-mipsel --to "127.0.0.1:$REG/other" --layout "$T/other" --images-lock "$T/il3.json" >/dev/null
expect 2 "was built from other inputs" "$KSIMG" -q verify "127.0.0.1:$REG/other/kernelsmith:k4-mipsel" --lock "$LOCK"
ok "an image from other inputs exits 2, saying which lock to check out"
echo "PASS: $CHECKS checks"
