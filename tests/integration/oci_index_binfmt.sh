#!/usr/bin/env bash
# A multi-platform image in podman: two stand-in images made of Debian's busybox-static
# (amd64 and arm64 .debs from the Debian mirror), one index; `ksimg load --tag` puts this
# machine's entry into podman's storage, `--platform linux/arm64` the other, which podman runs
# under qemu-user binfmt (`uname -m` says aarch64). A platform the index lacks: exit 2.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools podman skopeo curl jq
[ "$(uname -m)" = x86_64 ] || skip "this test emulates arm64 on an x86_64 host"
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null ||
  skip "no qemu-aarch64 binfmt handler (install qemu-user-static binfmt-support; mount binfmt_misc; update-binfmts --enable qemu-aarch64)"
scratch oci_index_binfmt
export SOURCE_DATE_EPOCH=1700000000
M=$(debian_mirror)
[ -n "$M" ] || skip "no Debian mirror (set KSIMG_DEBIAN_MIRROR)"
v=$(apt-cache policy busybox-static 2>/dev/null | awk '/Candidate:/ {print $2}')
v=${v#*:}
[ -n "$v" ] && [ "$v" != "(none)" ] || skip "apt knows no busybox-static version"
for a in amd64 arm64; do
  curl -sfo "bb-$a.deb" "${M%/}/pool/main/b/busybox/busybox-static_${v}_$a.deb" ||
    skip "busybox-static $v for $a is not on $M"
done
podman_storage
L="$T/oci"
for a in amd64 arm64; do
  "$KSIMG" -q image build --platform "linux/$a" --layer "bb-$a.deb" --tag "bb-$a" --layout "$L" \
    --cmd /bin/busybox --cmd uname --cmd=-m >/dev/null
done
"$KSIMG" -q image index --layout "$L" --tag bb --manifest bb-amd64 --manifest bb-arm64 >/dev/null
"$KSIMG" -q image index --layout "$L" --tag bb-only --manifest bb-amd64 >/dev/null

name=$("$KSIMG" -q load --tag bb --layout "$L")
[ "$name" = localhost/kernelsmith:bb ] || fail "load printed '$name'"
[ "$(podman image inspect --format '{{.Architecture}}' "$name")" = amd64 ] || fail "host load is not amd64"
[ "$(podman run --rm "$name")" = x86_64 ] || fail "the amd64 entry does not run"
ok "ksimg load picks this machine's entry (amd64) and podman runs it"

"$KSIMG" -q load --tag bb --platform linux/arm64 --layout "$L" >/dev/null
[ "$(podman image inspect --format '{{.Architecture}}' "$name")" = arm64 ] || fail "--platform linux/arm64 load"
out=$(podman run --rm --platform linux/arm64 "$name" 2>podman.err) || { cat podman.err; fail "podman run arm64"; }
[ "$out" = aarch64 ] || fail "the arm64 entry says '$out'"
ok "ksimg load --platform linux/arm64 + podman run --platform linux/arm64 under binfmt: uname -m = aarch64"

rc=0
"$KSIMG" load --tag bb-only --platform linux/arm64 --layout "$L" >out.txt 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "tag bb-only has no linux/arm64 image (it has linux/amd64)" err.txt || {
  cat err.txt
  fail "load of a platform the index lacks: exit $rc"
}
rc=0
"$KSIMG" load --tag bb --platform linux/riscv64 --layout "$L" >out.txt 2>err.txt || rc=$?
[ "$rc" = 2 ] && grep -q "unsupported platform 'linux/riscv64'" err.txt || { cat err.txt; fail "riscv64: exit $rc"; }
ok "a platform the index lacks or ksimg does not support: exit 2, one line"
echo "PASS: $CHECKS checks"
