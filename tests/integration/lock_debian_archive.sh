#!/usr/bin/env bash
# `ksimg lock` against the real Debian archive, found through the host's apt sources (or
# KSIMG_DEBIAN_MIRROR when the environment sets it), verified with the host's Debian archive
# keyring: the k4 and k6 mipsel cells resolve to bullseye gcc 10.2.1 and trixie gcc 13.3.0.
# Skipped (77) when the archive cannot be reached or the host has no keyring or sources.
set -euo pipefail
: "${KSIMG:?}" "${KSIMG_TESTS_TMP:?}"
command -v jq >/dev/null || { echo "SKIP: jq is not installed (scripts/install-deps)"; exit 77; }
command -v gpgv >/dev/null || { echo "SKIP: gpgv is not installed (scripts/install-deps)"; exit 77; }
KEYRING=${KSIMG_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
[ -r "$KEYRING" ] || { echo "SKIP: no Debian archive keyring at $KEYRING (install debian-archive-keyring)"; exit 77; }
mkdir -p "$KSIMG_TESTS_TMP"
T=$(mktemp -d "${KSIMG_TESTS_TMP%/}/lock_debian.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$T"

# The first run doubles as the reachability probe.
rc=0
"$KSIMG" -v lock --cell k4/mipsel >"$T/out" 2>"$T/err" || rc=$?
if [ "$rc" != 0 ]; then
  if [ "$rc" = 2 ] && grep -qF 'no Debian mirror' "$T/err"; then
    echo "SKIP: the host's apt sources name no Debian archive: $(tail -1 "$T/err")"; exit 77
  fi
  if [ "$rc" = 1 ] && grep -qE 'curl error|HTTP 5[0-9][0-9]' "$T/err"; then
    echo "SKIP: the Debian archive is unreachable from here: $(tail -1 "$T/err")"; exit 77
  fi
  fail "lock --cell k4/mipsel: exit $rc: $(cat "$T/err")"
fi
MIRROR=$(sed -n 's/^debug: Debian mirror from the host.s apt sources: //p' "$T/err")
L=ksimg.lock.json
jq -e '.recipes["debian-bullseye-gcc10-mipsel"].packages[]
       | select(.name == "gcc-10-mipsel-linux-gnu")
       | (.version | startswith("10.2.1-")) and (.filename | startswith("pool/main/g/gcc-10-cross"))
         and (.sha256 | test("^[0-9a-f]{64}$")) and .size > 1000000' "$L" >/dev/null \
  || fail "bullseye gcc-10: $(jq -c '.recipes["debian-bullseye-gcc10-mipsel"]' "$L")"
# six for the compiler and binutils, three for the cross C library and kernel headers
jq -e '.debian_suites.bullseye.codename == "bullseye" and (.recipes["debian-bullseye-gcc10-mipsel"].packages | length) == 9
       and ([.recipes["debian-bullseye-gcc10-mipsel"].packages[].name] | index("libc6-dev-mipsel-cross")) != null
       and .recipes["bootlin-2020.08-1-mipsel"].status == "locked"' "$L" >/dev/null \
  || fail "k4/mipsel lock: $(cat "$L")"
EPOCH=$(jq .source_date_epoch "$L")

"$KSIMG" lock --cell k6/mipsel >"$T/out" 2>"$T/err" || fail "lock --cell k6/mipsel: $(cat "$T/err")"
jq -e '.recipes["debian-trixie-gcc13-mipsel"].packages[]
       | select(.name == "gcc-13-mipsel-linux-gnu") | (.version | startswith("13.3.0-"))' "$L" >/dev/null \
  || fail "trixie gcc-13: $(jq -c '.recipes["debian-trixie-gcc13-mipsel"]' "$L")"
jq -e --argjson e "$EPOCH" '.debian_suites.trixie.codename == "trixie" and .source_date_epoch == $e
       and (.recipes | has("debian-bullseye-gcc10-mipsel"))' "$L" >/dev/null \
  || fail "k6 lock (merged with k4, epoch kept): $(jq -c '{source_date_epoch, debian_suites}' "$L")"
if [ -n "$MIRROR" ]; then ! grep -qF "$MIRROR" "$L" || fail "the lock names the mirror"; fi

cp "$L" "$T/before.json"
"$KSIMG" lock --cell k6/mipsel --cell k4/mipsel >"$T/out" 2>"$T/err" || fail "re-run: $(cat "$T/err")"
if [ "$(jq -c '[.debian_suites[].inrelease_sha256]' "$L")" = "$(jq -c '[.debian_suites[].inrelease_sha256]' "$T/before.json")" ]; then
  cmp -s "$L" "$T/before.json" || fail "re-running changed the lock: $(diff "$T/before.json" "$L" | head)"
  grep -qF '(unchanged)' "$T/out" || fail "re-run summary: $(cat "$T/out")"
else
  echo "note: the archive published a new InRelease between the runs; byte identity not checked"
fi
echo "lock_debian_archive: bullseye $(jq -r '.recipes["debian-bullseye-gcc10-mipsel"].packages[0].version' "$L"), trixie $(jq -r '.recipes["debian-trixie-gcc13-mipsel"].packages[0].version' "$L")"
