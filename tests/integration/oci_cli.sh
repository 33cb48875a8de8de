#!/usr/bin/env bash
# `ksimg image build` and `ksimg inspect` end to end: a tree given as a directory, as tar archives
# in every compression and tar dialect, or inside a .deb gives the same diff_id; digests do not
# depend on the path, the locale or the file times past SOURCE_DATE_EPOCH; re-tagging, concurrent
# builds into one layout, and the usage/integrity errors with their exit codes (README "Exit codes").
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools tar gzip xz zstd bzip2 jq dpkg-deb
scratch oci_cli
export SOURCE_DATE_EPOCH=1700000000
build() { "$KSIMG" -q image build "$@"; }
diff_id() { "$KSIMG" inspect "$1" --json | jq -r '.layers[0].diffID'; }
# expect_short CODE TEXT CMD...: lib.bash's expect, and the error is at most two lines.
expect_short() {
  expect "$@"
  [ "$(wc -l <err.txt)" -le 2 ] || { cat err.txt; fail "'${*:3}' printed more than a short error"; }
}

# --- a tree with a hardlink, a symlink, UTF-8 and nested directories
mkdir -p tree/usr/bin tree/usr/share/doc/pkg tree/etc
printf '#!/bin/sh\necho hi\n' > tree/usr/bin/hi && chmod 755 tree/usr/bin/hi
ln tree/usr/bin/hi tree/usr/bin/hi-again
ln -s hi tree/usr/bin/hello
printf 'doc\n' > "tree/usr/share/doc/pkg/ünïcødé notes.txt"
printf 'conf\n' > tree/etc/pkg.conf

echo "== stdout is exactly the manifest digest"
digest=$(build --layer tree --tag dir --layout L)
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "stdout was '$digest'"
[ "$("$KSIMG" inspect L:dir --json | jq -r .manifest.digest)" = "$digest" ] || fail "inspect disagrees"
want=$(diff_id L:dir)

echo "== the same tree from archives of every kind gives the same diff_id"
tar -C tree -cf t-gnu.tar --format=gnu .
tar -C tree -cf t-pax.tar --format=pax --sort=name usr etc
tar -C tree -cf t-ustar.tar --format=ustar . 2>/dev/null || true  # ustar may refuse long names; fine here
gzip -kn t-gnu.tar && xz -k t-gnu.tar && zstd -q t-gnu.tar && bzip2 -k t-gnu.tar
for a in t-gnu.tar t-pax.tar t-ustar.tar t-gnu.tar.gz t-gnu.tar.xz t-gnu.tar.zst t-gnu.tar.bz2; do
  [ -s "$a" ] || continue
  build --layer "$a" --tag "a-${a//./-}" --layout L >/dev/null
  [ "$(diff_id "L:a-${a//./-}")" = "$want" ] || fail "$a gives another diff_id than the directory"
done

echo "== a .deb contributes its data.tar"
mkdir -p pkg/DEBIAN && cp -a tree/. pkg/
printf 'Package: ksimg-test\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.invalid>\nDescription: test\n' \
  > pkg/DEBIAN/control
dpkg-deb --root-owner-group -Zxz --build pkg test.deb >/dev/null
build --layer test.deb --tag deb --layout L >/dev/null
[ "$(diff_id L:deb)" = "$want" ] || fail "the .deb gives another diff_id than the directory"

echo "== path, mtimes past the epoch and the locale do not change the digests"
cp -a tree "other place" && touch -d '2030-01-01' "other place/etc/pkg.conf" "other place/usr/bin/hi"
[ "$(build --layer "other place" --tag copy --layout L2)" = "$digest" ] || fail "a copy elsewhere differs"
ln -s tree tree-link
[ "$(build --layer tree-link --tag link --layout L8)" = "$digest" ] || fail "a symlink to the tree differs"
[ "$(LC_ALL=C build --layer tree --tag c --layout L3)" = "$digest" ] || fail "LC_ALL=C changes the digest"
[ "$(LC_ALL=C.UTF-8 build --layer tree --tag c --layout L4)" = "$digest" ] || fail "LC_ALL=C.UTF-8 changes it"
[ "$(SOURCE_DATE_EPOCH=1600000000 build --layer tree --tag e --layout L5)" != "$digest" ] ||
  fail "SOURCE_DATE_EPOCH had no effect"
[ "$(build --layer tree --tag e --layout L6 --source-date-epoch 1600000000)" = \
  "$(SOURCE_DATE_EPOCH=1600000000 build --layer tree --tag e --layout L7)" ] || fail "--source-date-epoch != env"

echo "== config and annotations"
build --layer tree --layer t-gnu.tar.zst --tag full --layout L --env PATH=/usr/bin --env "A=b c" --cmd kbuild \
  --cmd=--help --label era=k3 --annotation org.example.x=1 --source https://example.invalid/r --revision abc \
  --image-version 1.2 --platform linux/arm64 --compression zstd >/dev/null
"$KSIMG" inspect L:full --json | jq -e '
  .platform == {"os":"linux","architecture":"arm64"} and .env == ["PATH=/usr/bin","A=b c"] and
  .cmd == ["kbuild","--help"] and .labels == {"era":"k3"} and (.layers | length) == 2 and
  (.layers | all(.mediaType == "application/vnd.oci.image.layer.v1.tar+zstd")) and
  .annotations["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z" and
  .annotations["org.opencontainers.image.source"] == "https://example.invalid/r" and
  .annotations["org.opencontainers.image.revision"] == "abc" and
  .annotations["org.opencontainers.image.version"] == "1.2" and .annotations["org.example.x"] == "1"' >/dev/null ||
  fail "inspect --json does not show what was built"
"$KSIMG" inspect L:full | grep -q '^platform:  linux/arm64$' || fail "text inspect lacks the platform"
"$KSIMG" inspect L:full | grep -q 'diff_id: sha256:' || fail "text inspect lacks diff_ids"

echo "== re-tagging replaces the entry"
build --layer tree --tag dir --layout L --env NEW=1 >/dev/null
[ "$(jq '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "dir")] | length' L/index.json)" = 1 ] ||
  fail "re-tagging left two entries"
"$KSIMG" inspect L:dir --json | jq -e '.env == ["NEW=1"]' >/dev/null || fail "re-tag did not move the tag"

echo "== concurrent builds into one layout keep every tag"
mkdir -p par && pids=()
for i in $(seq 1 6); do
  mkdir -p "par/t$i" && echo "$i" > "par/t$i/f"
  build --layer "par/t$i" --tag "p$i" --layout P >/dev/null & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "a concurrent build failed"; done
[ "$(jq '.manifests | length' P/index.json)" = 6 ] || fail "concurrent builds lost tags: $(cat P/index.json)"
for i in $(seq 1 6); do "$KSIMG" inspect "P:p$i" >/dev/null || fail "tag p$i unreadable"; done
[ -z "$(ls P/.ksimg-tmp)" ] || fail "temp files left behind: $(ls P/.ksimg-tmp)"

echo "== errors: one line, the documented exit codes"
expect_short 2 "--tag is required" "$KSIMG" image build --layer tree --layout L
expect_short 2 "does not exist" "$KSIMG" image build --layer nope --tag x --layout L
expect_short 2 "expected KEY=VALUE" "$KSIMG" image build --layer tree --tag x --layout L --env NOVALUE
expect_short 2 "invalid tag" "$KSIMG" image build --layer tree --tag -bad --layout L
expect_short 2 "SOURCE_DATE_EPOCH must be whole seconds" env SOURCE_DATE_EPOCH=yesterday "$KSIMG" image build --layer tree --tag x --layout L
expect_short 2 "neither a directory nor a regular file" "$KSIMG" image build --layer /dev/null --tag x --layout L
printf 'plain text\n' > notes.txt
expect_short 2 "cannot read layer source" "$KSIMG" image build --layer notes.txt --tag x --layout L
mkdir -p home && echo mine > home/file
expect_short 2 "not an OCI layout" "$KSIMG" image build --layer tree --tag x --layout home
expect_short 2 "lies inside --layer" "$KSIMG" image build --layer tree --tag x --layout tree/usr/oci
[ ! -e tree/usr/oci ] || fail "a refused build still created its layout"
expect_short 2 "available tags:" "$KSIMG" inspect L:nope
expect_short 2 "name one as LAYOUT:TAG" "$KSIMG" inspect L
expect_short 2 "no OCI image layout" "$KSIMG" inspect home
tar -C tree -cf evil.tar --transform 's,^\./etc,../../etc,' ./etc
expect_short 3 "escapes the layer root" "$KSIMG" image build --layer evil.tar --tag x --layout L
blob=$("$KSIMG" inspect L:dir --json | jq -r '.layers[0].digest | sub("sha256:"; "L/blobs/sha256/")')
size=$(stat -c %s "$blob") && head -c "$size" /dev/zero > "$blob"
expect_short 3 "does not match its digest" "$KSIMG" image build --layer tree --tag dir --layout L --env NEW=1

echo "== help has examples"
"$KSIMG" image build --help | grep -q 'Example' || fail "image build --help has no example"
"$KSIMG" inspect --help | grep -q 'Example' || fail "inspect --help has no example"
echo "PASS: ksimg image build / inspect behave as documented"
