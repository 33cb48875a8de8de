#!/usr/bin/env bash
# `ksimg resolve` and `ksimg matrix` as a user runs them: typed versions, kernel trees and
# tarballs, JSON output, and one-line errors with exit code 2 for bad input.
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_TESTS_TMP:?}"
T=$(mktemp -d "${KSIMG_TESTS_TMP%/}.cli_resolve.XXXXXX" 2>/dev/null || mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
expect() {  # expect NAME CMD... : run, require exit 0
  local name=$1; shift
  "$@" >"$T/out" 2>"$T/err" || fail "$name: exit $? (stderr: $(cat "$T/err"))"
  checks=$((checks + 1))
}
expect_usage() {  # expect_usage NEEDLE CMD... : exit 2, one stderr line containing NEEDLE
  local needle=$1; shift
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = 2 ] || fail "$*: exit $rc, want 2 (stderr: $(cat "$T/err"))"
  [ "$(wc -l <"$T/err")" = 1 ] || fail "$*: stderr is not one line: $(cat "$T/err")"
  grep -qF -- "$needle" "$T/err" || fail "$*: stderr lacks '$needle': $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "$*: printed a result on stdout"
  checks=$((checks + 1))
}

# The headline case: 3.18.140 on mipsel is k3, and resolve says why.
expect headline "$KSIMG" resolve 3.18.140 --arch mipsel
grep -qE '^era +k3 \(3\.0 <= 3\.18\.140 < 4\.0\)' "$T/out" || fail "era line: $(cat "$T/out")"
grep -qE '^image +kernelsmith:k3-mipsel$' "$T/out" || fail "image line"
grep -qF 'band k3 matched' "$T/out" || fail "why: band"

# The x86_64 binutils exception, as JSON.
expect json "$KSIMG" resolve 4.10 --arch x86_64 --json
jq -e '.era == "k4" and .cell == "k3/x86_64" and .exception.id == "x86_64-binutils-plt32"
       and .toolchain.binutils == "2.27" and .image == "kernelsmith:k3-x86_64"' "$T/out" >/dev/null \
  || fail "4.10/x86_64 json: $(cat "$T/out")"

# Without --arch: a row per arch (13), JSON too.
expect all-arches "$KSIMG" resolve 5.10.229 --json
[ "$(jq length "$T/out")" = 13 ] || fail "want 13 rows"
jq -e '[.[] | select(.arch == "powerpcle") | .error] | length == 1' "$T/out" >/dev/null || fail "powerpcle row"

# A kernel tree and a tarball: the version comes from the top Makefile.
mkdir -p "$T/linux-4.9.337"
printf 'VERSION = 4\nPATCHLEVEL = 9\nSUBLEVEL = 337\nEXTRAVERSION =\nNAME = Roaring Lionus\n' >"$T/linux-4.9.337/Makefile"
mkdir -p "$T/linux-4.9.337/Documentation" && echo doc >"$T/linux-4.9.337/Documentation/README"
expect tree "$KSIMG" resolve "$T/linux-4.9.337" --arch mipsel --json
jq -e '.version == "4.9.337" and .era == "k4"' "$T/out" >/dev/null || fail "tree: $(cat "$T/out")"
tar -C "$T" -cJf "$T/linux-4.9.337.tar.xz" linux-4.9.337
expect tarball "$KSIMG" resolve "$T/linux-4.9.337.tar.xz" --arch x86_64 --json
jq -e '.version == "4.9.337" and .cell == "k3/x86_64"' "$T/out" >/dev/null || fail "tarball: $(cat "$T/out")"
printf 'VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 39\nEXTRAVERSION = .4\n' >"$T/linux-4.9.337/Makefile"
tar -C "$T" -czf "$T/old.tar.gz" linux-4.9.337
expect tarball-2.6 "$KSIMG" resolve "$T/old.tar.gz" --arch armel --json
jq -e '.version == "2.6.39.4" and .era == "k2.6"' "$T/out" >/dev/null || fail "2.6 tarball: $(cat "$T/out")"

# The matrix: 52 cells, 8 unsupported.
expect matrix "$KSIMG" matrix --json
[ "$(jq length "$T/out")" = 52 ] || fail "want 52 cells"
[ "$(jq '[.[] | select(.status == "unsupported")] | length' "$T/out")" = 8 ] || fail "want 8 unsupported"
[ "$(jq '[.[] | select(.hosts == ["linux/amd64", "linux/arm64"])] | length' "$T/out")" = 21 ] ||
  fail "want 21 cells with an arm64 host"
jq -e '.[] | select(.cell == "k3/mipsel") | .arm64_unavailable == "Bootlin'"'"'s SDKs are built for x86_64 hosts only"' \
  "$T/out" >/dev/null || fail "k3/mipsel: no reason for the missing arm64 host"
expect matrix-text "$KSIMG" matrix --era k4
grep -qE '^k4/powerpc64 .* amd64 \[[0-9]\] +supported' "$T/out" || fail "k4/powerpc64 hosts column"
grep -qE '^\[[0-9]\] no arm64 host: bullseye builds gcc-10-powerpc64-linux-gnu' "$T/out" || fail "hosts footnote"
grep -qE '^k4/mipsel +kernelsmith:k4-mipsel +debian +debian-bullseye-gcc10-mipsel +10\.2\.1 +2\.35\.2' "$T/out" || fail "matrix row"

# Bad input: one line, exit 2, names the problem and the choices.
expect_usage "give at least MAJOR.MINOR" "$KSIMG" resolve 5 --arch mipsel
expect_usage "'abc' is not a kernel version" "$KSIMG" resolve abc
expect_usage "'7.x' is not a kernel version" "$KSIMG" resolve 7.x --arch mipsel
expect_usage "no kernel version given" "$KSIMG" resolve "" --arch mipsel
expect_usage "valid arches: armel, armhf, arm64" "$KSIMG" resolve 5.10 --arch sparc
expect_usage "arm64 support was merged in Linux 3.7" "$KSIMG" resolve 2.6.31 --arch arm64
expect_usage "no mainline 32-bit little-endian powerpc kernel" "$KSIMG" resolve 6.6 --arch powerpcle
expect_usage "sources are: debian, script" "$KSIMG" resolve 6.6 --arch mips64el --source bootlin
expect_usage "no such file or directory" "$KSIMG" resolve ./nope/linux-5.10 --arch mipsel
expect_usage "without a Makefile" "$KSIMG" resolve "$T/linux-4.9.337/Documentation" --arch mipsel
echo garbage >"$T/bad.tar.xz"
rc=0; "$KSIMG" resolve "$T/bad.tar.xz" --arch mipsel 2>"$T/err" || rc=$?
[ "$rc" = 3 ] || fail "corrupt tarball: exit $rc, want 3 ($(cat "$T/err"))"
checks=$((checks + 1))
expect_usage "valid eras: k2.6, k3, k4, k6" "$KSIMG" matrix --era k5
expect_usage "resolve" "$KSIMG" resolve
echo "cli_resolve: $checks checks passed"
