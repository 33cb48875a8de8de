#!/usr/bin/env bash
# Interop: images ksimg builds must be accepted by the OCI peers (OCI image-spec image-layout.md):
# oci-image-tool validate, umoci unpack, skopeo inspect and copy to docker-archive, and podman
# pull + run of a static binary inside the image. gzip and zstd layers; the tools in Debian 12
# that predate tar+zstd (oci-image-tool 1.0.0-rc1, umoci 0.4.7) only see the gzip image. The
# first layer is several gzip members (3.5 MiB of noise sorted before /bin: > 1 MiB slice),
# so /bin/hello lies in a later member and every peer must read past the first.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools oci-image-tool umoci skopeo podman jq gcc python3
scratch oci_interop
skipped=""

# A rootfs with a static binary, plus a second layer from a GNU tar archive.
mkdir -p rootfs/bin rootfs/tmp extra/etc
printf '#include <stdio.h>\nint main(void) { puts("hello from a ksimg image"); return 0; }\n' > hello.c
if ! gcc -static -Os -o rootfs/bin/hello hello.c 2>gcc.log; then
  cat gcc.log
  echo "SKIP: gcc cannot link a static binary here (install libc6-dev)"
  exit 77
fi
chmod 1777 rootfs/tmp
mkdir -p rootfs/a
python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(r.randbytes(3*1048576+500000))' >rootfs/a/noise
noise_sum=$(sha256sum <rootfs/a/noise | cut -d' ' -f1)
echo "built by ksimg" > extra/etc/motd
tar -C extra -czf extra.tar.gz .

L="$T/layout"
digest=$("$KSIMG" -q image build --layer rootfs --layer extra.tar.gz --env PATH=/bin --cmd /bin/hello \
  --label org.example.test=interop --tag v1 --layout "$L" --source-date-epoch 1700000000)
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "build printed '$digest', not a digest"
zdigest=$("$KSIMG" -q image build --layer rootfs --cmd /bin/hello --tag z1 --layout "$L" --compression zstd)

[ "$("$KSIMG" inspect "$L:v1" --json | jq '.layers[0].size')" -gt 3000000 ] || fail "the first layer is not multi-member"

echo "== oci-image-tool validate (this version implements imageLayout checks under --type image)"
oci-image-tool validate --type image --ref name=v1 "$L" || fail "oci-image-tool rejected the layout"

echo "== umoci unpack"
umoci unpack --image "$L:v1" bundle >/dev/null || fail "umoci unpack failed"
[ "$(bundle/rootfs/bin/hello)" = "hello from a ksimg image" ] || fail "unpacked binary does not run"
[ "$(cat bundle/rootfs/etc/motd)" = "built by ksimg" ] || fail "second layer missing after umoci unpack"
[ "$(stat -c %a bundle/rootfs/tmp)" = 1777 ] || fail "sticky /tmp lost"
[ "$(sha256sum <bundle/rootfs/a/noise | cut -d' ' -f1)" = "$noise_sum" ] || fail "umoci unpacked other noise bytes"
jq -e '.process.args == ["/bin/hello"]' bundle/config.json >/dev/null || fail "umoci runtime config lacks Cmd"

echo "== skopeo inspect and copy"
for ref in v1 z1; do
  want=$([ $ref = v1 ] && echo "$digest" || echo "$zdigest")
  got=$(skopeo inspect "oci:$L:$ref" | jq -r .Digest)
  [ "$got" = "$want" ] || fail "skopeo sees $got for $ref, ksimg printed $want"
done
skopeo inspect "oci:$L:v1" | jq -e '.Labels["org.example.test"] == "interop" and (.Layers | length) == 2' >/dev/null ||
  fail "skopeo inspect: labels or layers wrong"
skopeo copy -q "oci:$L:v1" "docker-archive:$T/image.tar:ksimg/interop:v1" || fail "skopeo copy failed"
tar -xOf image.tar manifest.json | jq -e '.[0].RepoTags[0] | endswith("ksimg/interop:v1")' >/dev/null ||
  fail "docker-archive has no manifest.json with the tag"
# The archive holds the uncompressed layers, named by their sha256: ksimg's diff_ids.
want=$("$KSIMG" inspect "$L:v1" --json | jq -r '[.layers[].diffID | sub("sha256:"; "") + ".tar"] | join(" ")')
got=$(tar -xOf image.tar manifest.json | jq -r '.[0].Layers | join(" ")')
[ "$got" = "$want" ] || fail "docker-archive layers '$got' are not the diff_ids '$want'"

echo "== podman pull and run"
# Private storage under a short /tmp path: podman refuses a runroot over 50 characters, which
# a scratch dir under a deep checkout easily is.
podman_storage vfs
P=(podman)
if ! "${P[@]}" info >podman-info.log 2>&1; then
  cat podman-info.log
  skipped="podman cannot run in this environment (see above)"
else
  # podman names the image after the layout's path, which must be lowercase: pull through a
  # lowercase link when the build dir's path is not.
  PL="$L"
  if [ "$L" != "${L,,}" ]; then PL="/tmp/ksimg-interop-$$"; ln -sfn "$L" "$PL"; fi
  for ref in v1 z1; do
    id=$(timeout 300 "${P[@]}" pull -q "oci:$PL:$ref") || fail "podman pull oci:$PL:$ref failed"
    out=$(timeout 300 "${P[@]}" run --rm --pull never --network none "$id") || fail "podman run of $ref failed"
    [ "$out" = "hello from a ksimg image" ] || fail "podman run printed '$out'"
  done
  [ "$("${P[@]}" image inspect --format '{{.Digest}}' "$id")" = "$zdigest" ] || fail "podman stored another digest"
  "${P[@]}" rmi -a -f >/dev/null 2>&1 || true
  [ "$PL" = "$L" ] || rm -f "$PL"
fi

if [ -n "$skipped" ]; then
  echo "SKIP: $skipped; every other peer accepted the images"
  exit 77
fi
echo "PASS: oci-image-tool, umoci, skopeo and podman accept ksimg images (multi-member gzip layer included)"
