#!/usr/bin/env bash
# `ksimg lock` against the real Debian archive, found through the host's apt sources (or
# KSIMG_DEBIAN_MIRROR when the environment sets it), verified with the host's Debian archive
# keyring: the k4 and k6 mipsel cells resolve to bullseye gcc 10.2.1 and trixie gcc 13.3.0.
# Skipped (77) when the archive cannot be reached or the host has no keyring or sources.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools jq gpgv
need_debian_keyring
run_dir lock_debian
cd "$T"

# The first run doubles as the reachability probe.
debian_lock --cell k4/mipsel
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
# the arm64 host's set (hosts.arm64: {}): the same names, arm64 builds from binary-arm64, same versions
jq -e '.recipes["debian-bullseye-gcc10-mipsel"] as $r
       | ($r.hosts.arm64.packages | length) == 9
       and ([$r.hosts.arm64.packages[].architecture] - ["all"] | unique) == ["arm64"]
       and [$r.hosts.arm64.packages[] | .name + "=" + .version] == [$r.packages[] | .name + "=" + .version]
       and ($r.hosts.arm64.packages[0].filename | endswith("_arm64.deb"))' "$L" >/dev/null \
  || fail "k4/mipsel arm64 pins: $(jq -c '.recipes["debian-bullseye-gcc10-mipsel"].hosts' "$L")"
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
