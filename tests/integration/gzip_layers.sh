#!/usr/bin/env bash
# Sliced gzip layers (docs/oci.md "gzip profile"): a layer larger than one 1 MiB slice is
# several gzip members, and every reader here reads all of them: gzip -t and gzip -dc,
# Python's gzip module, ksimg itself (image check, the blob read back as a layer source,
# push to and pull from a real docker-registry, skopeo copy from it). The same tree gives the
# same blob under qemu-x86_64 user emulation with an old CPU model (libdeflate takes other
# code paths there), the compressor profile is recorded (layer annotation, images.lock.json),
# and `ksimg check` warns when a pin names another libdeflate version.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools gzip python3 skopeo jq
scratch gzip_layers
export KSIMG_IMAGES_LOCK="$T/images.lock.json"

# 3.5 MiB that do not compress, sorted before a small text file: the text file sits in the
# last member, so a reader that stops after the first member loses it.
mkdir -p tree/a tree/z
python3 -c 'import random,sys; r=random.Random(19); sys.stdout.buffer.write(r.randbytes(3*1048576+500000))' >tree/a/noise
echo "last member" >tree/z/last
L="$T/oci"
D=$("$KSIMG" -q image build --layer tree --tag g1 --layout "$L" --cmd /z/last --source-date-epoch 1700000000)
info=$("$KSIMG" inspect "$L:g1" --json)
blob="$L/blobs/sha256/$(jq -r '.layers[0].digest | sub("sha256:"; "")' <<<"$info")"
diff_id=$(jq -r '.layers[0].diffID' <<<"$info")
profile=$(jq -r '.layers[0].annotations["org.kernelsmith.compressor"]' <<<"$info")
[[ $profile =~ ^gzip\ libdeflate-[0-9.]+\ level-6\ slice-1MiB$ ]] || fail "layer annotation: '$profile'"
"$KSIMG" inspect "$L:g1" | grep -qF "compressor: $profile" || fail "ksimg inspect does not show the compressor"
ok "the layer records its compressor: $profile"

members=$(python3 - "$blob" <<'PY'
import sys, zlib
data = open(sys.argv[1], "rb").read()
n = 0
while data:
    d = zlib.decompressobj(31)  # one gzip member
    d.decompress(data)
    if not d.eof: sys.exit("truncated member")
    data, n = d.unused_data, n + 1
print(n)
PY
)
[ "$members" -ge 4 ] || fail "expected >= 4 gzip members, found $members"
ok "the blob is $members gzip members"

gzip -t "$blob" || fail "gzip -t rejects the blob"
[ "sha256:$(gzip -dc "$blob" | sha256sum | cut -d' ' -f1)" = "$diff_id" ] || fail "gzip -dc does not give the diff_id"
ok "gzip -t and gzip -dc read every member (sha256 = diff_id)"
py=$(python3 -c 'import gzip,hashlib,sys; print("sha256:" + hashlib.sha256(gzip.open(sys.argv[1]).read()).hexdigest())' "$blob")
[ "$py" = "$diff_id" ] || fail "python gzip gives $py, not $diff_id"
ok "python3 gzip module reads every member"

layout_ok "$L" || fail "ksimg image check: $(cat "$T/check.out")"
cp "$blob" layer.tar.gz
"$KSIMG" -q image build --layer layer.tar.gz --tag back --layout "$T/back" --cmd /z/last \
  --source-date-epoch 1700000000 >/dev/null
[ "$("$KSIMG" inspect "$T/back:back" --json | jq -r '.layers[0].diffID')" = "$diff_id" ] ||
  fail "ksimg reading the blob back as a layer source gives another tar"
ok "ksimg image check passes; the blob read back by ksimg (libarchive) gives the same diff_id"

echo "== docker-registry: ksimg push, skopeo copy, ksimg pull"
REG=$(start_registry "$T/reg")
"$KSIMG" -q push --tag g1 --to "127.0.0.1:$REG/ns" --layout "$L" >/dev/null || fail "ksimg push failed"
[ "$(jq -r '.images.g1.compressors[0]' images.lock.json)" = "$profile" ] || fail "images.lock.json: $(cat images.lock.json)"
ok "pushed; images.lock.json records the compressor"
skopeo copy -q --src-tls-verify=false "docker://127.0.0.1:$REG/ns/kernelsmith:g1" "oci:$T/sk:g1" || fail "skopeo copy failed"
[ "$(skopeo inspect "oci:$T/sk:g1" | jq -r .Digest)" = "$D" ] || fail "skopeo copied another digest"
"$KSIMG" -q pull "127.0.0.1:$REG/ns/kernelsmith:g1" --layout "$T/pulled" >/dev/null || fail "ksimg pull failed"
[ "$(tag_digest "$T/pulled" g1)" = "$D" ] || fail "ksimg pull stored another digest"
layout_ok "$T/pulled" || fail "the pulled layout: $(cat "$T/check.out")"
ok "docker-registry stored it; skopeo copy and ksimg pull get $D"

echo "== ksimg check warns when a pin names another libdeflate"
jq '.images["k4-mipsel"] = (.images.g1 + {cell: "k4/mipsel", compressors: ["gzip libdeflate-0.1 level-6 slice-1MiB"]})' \
  images.lock.json >lock2.json
rc=0
KSIMG_IMAGES_LOCK="$T/lock2.json" "$KSIMG" check --cell k4/mipsel --layout "$L" >/dev/null 2>check.err || rc=$?
grep -q "warning: k4-mipsel: .*libdeflate 0.1, this ksimg has" check.err || fail "no libdeflate warning: $(cat check.err)"
ok "ksimg check warns about the pinned libdeflate version (then exit $rc: the layout has no k4-mipsel image)"

echo "== another CPU: qemu-x86_64 -cpu qemu64"
Q=$(command -v qemu-x86_64 || command -v qemu-x86_64-static || true)
if [ -z "$Q" ]; then
  echo "SKIP (part): qemu-x86_64 is not installed (apt-get install qemu-user; scripts/install-deps has it)"
  echo "checks $CHECKS"
  exit 77
fi
# AddressSanitizer's shadow memory does not map under qemu user emulation: the sanitizer run
# (scripts/test-sanitizers) stops here; the plain build's run checks the other CPU.
if ldd "$KSIMG" 2>/dev/null | grep libasan >/dev/null; then  # no -q: pipefail sees ldd's SIGPIPE
  echo "SKIP (part): $KSIMG is an ASan build, which cannot run under $Q; the plain build checks this"
  echo "checks $CHECKS"
  exit 0
fi
QD=$("$Q" -cpu qemu64 "$KSIMG" -q image build --layer tree --tag g1 --layout "$T/qemu" --cmd /z/last \
  --source-date-epoch 1700000000) || fail "ksimg under $Q failed"
[ "$QD" = "$D" ] || fail "under qemu64 the manifest is $QD, natively $D"
ok "qemu-x86_64 -cpu qemu64 (no SSE4/AVX/PCLMUL) builds the same manifest $D"
echo "checks $CHECKS"
