#!/usr/bin/env bash
# Round trip: a tree built into a layer and unpacked with GNU tar comes back exactly: file types,
# modes incl. setuid/setgid/sticky, sizes, contents, mtimes (the epoch is set after them, so none
# is clamped), symlinks, hardlinks (one inode), xattrs (user.* and security.capability), a fifo,
# devices, names with spaces, UTF-8, a 255-byte name, paths over 100 and over 255 bytes. Owners
# come back 0:0 (the canonical form). GNU tar must not warn about any pax record we write.
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_SRC:?}" "${KSIMG_TESTS_TMP:?}"

for tool in tar getfattr setfattr setcap getcap zstd; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool is not installed (packages tar, attr, libcap2-bin, zstd)"
    exit 77
  fi
done
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root for device nodes, security.capability and owner checks"
  exit 77
fi

T="$KSIMG_TESTS_TMP/oci_gnutar"
rm -rf "$T" && mkdir -p "$T/in"
cd "$T"
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- the input tree
cd in
mkdir -p bin etc/sub "dir with spaces" sticky setgid-dir deep
printf 'tool\n' > bin/tool && chmod 0755 bin/tool
printf 'suid\n' > bin/suid && chmod 4755 bin/suid
printf 'sgid\n' > bin/sgid && chmod 2711 bin/sgid
printf 'ping\n' > bin/ping && chmod 0755 bin/ping && setcap cap_net_raw+ep bin/ping
printf 'conf\n' > etc/conf && setfattr -n user.comment -v "hello xattr" etc/conf
setfattr -n user.empty etc/sub
ln etc/conf etc/conf-hard && ln etc/conf bin/conf-hard2
ln -s ../etc/conf bin/rel-link && ln -s /etc/passwd bin/abs-link && ln -s missing bin/dangling
printf 'secret\n' > etc/private && chmod 0600 etc/private
printf 'ro\n' > etc/readonly && chmod 0444 etc/readonly && chown 1234:5678 etc/readonly
printf 'spaces\n' > "dir with spaces/file with spaces.txt"
printf 'utf8\n' > "ünïcødé-名前-файл.txt"
printf '255\n' > "$(printf 'n%.0s' $(seq 255))"
long=$(printf 'd%.0s' $(seq 60))/$(printf 'e%.0s' $(seq 60)) && mkdir -p "$long" && printf 'x\n' > "$long/over-100.txt"
deep=deep && for c in p q r s t; do deep="$deep/$(printf "$c%.0s" $(seq 60))"; done
mkdir -p "$deep" && printf 'y\n' > "$deep/over-255.txt"
chmod 1777 sticky && chmod 2775 setgid-dir
mkfifo fifo && chmod 0640 fifo
mknod chardev c 1 3 && chmod 0666 chardev
mknod blockdev b 7 0 && chmod 0660 blockdev
head -c 3000000 /dev/urandom > big.bin
touch -h -d '2020-01-02 03:04:05' bin/rel-link etc/conf
cd ..
[ ${#deep} -gt 255 ] || fail "fixture: deep path is only ${#deep} bytes"

# --- build (epoch in the future: mtimes are kept) and unpack with GNU tar
epoch=$(($(date +%s) + 100000))
"$KSIMG" -q image build --layer in --tag gz --layout layout --source-date-epoch "$epoch" >/dev/null
"$KSIMG" -q image build --layer in --tag zst --layout layout --source-date-epoch "$epoch" --compression zstd >/dev/null
blob() { "$KSIMG" inspect "layout:$1" --json | jq -r '.layers[0].digest | sub("sha256:"; "layout/blobs/sha256/")'; }

# One line per path: type, mode, size, mtime, rdev, link count, owner, symlink target, content hash.
describe() {
  (cd "$1" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
    line=$(stat -c '%F|%a|%Y|%t:%T|%h|%u:%g' -- "$f")
    case "$(stat -c %F -- "$f")" in
      "regular file"|"regular empty file") line="$line|$(stat -c %s -- "$f")|$(sha256sum < "$f" | cut -c1-16)" ;;
      "symbolic link") line="$line|-> $(readlink -- "$f")" ;;
    esac
    echo "$f|$line|$(getfattr -h -d -m - -e hex --absolute-names -- "$f" 2>/dev/null | grep -v '^#' | tr '\n' ' ')"
  done)
}
# Owners are not kept (canonical 0:0): expect 0:0 where the input has another owner.
describe in | awk -F'|' 'BEGIN { OFS = "|" } { $7 = "0:0"; print }' > in.txt

for c in gz zst; do
  rm -rf "out-$c" && mkdir "out-$c"
  flag=$([ $c = gz ] && echo --gzip || echo --zstd)
  tar $flag --xattrs --xattrs-include='*' --numeric-owner -xpf "$(blob $c)" -C "out-$c" 2>"tar-$c.err" ||
    { cat "tar-$c.err"; fail "GNU tar could not extract the $c layer"; }
  [ ! -s "tar-$c.err" ] || { cat "tar-$c.err"; fail "GNU tar warned while extracting the $c layer"; }
  describe "out-$c" > "out-$c.txt"
  diff -u in.txt "out-$c.txt" || fail "the $c layer does not reproduce the input tree"
  grep -q '^\./etc/readonly|regular file|444|.*|0:0|' "out-$c.txt" || fail "owner 1234:5678 was not reset to 0:0"
  [ "$(stat -c %i "out-$c/etc/conf")" = "$(stat -c %i "out-$c/etc/conf-hard")" ] || fail "hardlink became a copy"
  [ "$(stat -c %i "out-$c/etc/conf")" = "$(stat -c %i "out-$c/bin/conf-hard2")" ] || fail "hardlink became a copy"
  getcap "out-$c/bin/ping" | grep -q cap_net_raw || fail "security.capability lost"
done
echo "PASS: GNU tar reproduces the input tree from the gzip and zstd layers ($(wc -l < in.txt) entries)"
