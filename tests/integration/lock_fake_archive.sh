#!/usr/bin/env bash
# `ksimg lock` against a tiny Debian archive built here: suites signed by a throwaway gpg key,
# served on 127.0.0.1 by ksimg_static_server (with injected faults). Checks the lock's
# content (an arm64 host's pins from the suite's arm64 index too), byte-identical re-runs, and
# that every verification failure exits with the right
# code, names the problem, and leaves the lock file alone.
set -euo pipefail
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools gpg gpgv xz gzip jq sha256sum
need_static_server
run_dir lock_fake
# the throwaway key's gpg-agent goes before its home does
LIB_CLEANUP=("GNUPGHOME='$T/gnupg' gpgconf --kill gpg-agent 2>/dev/null" "${LIB_CLEANUP[@]}")
checks=0

# --- A throwaway archive key, and another key the keyring does not hold.
export GNUPGHOME="$T/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'ksimg test archive <archive@ksimg.invalid>' ed25519 sign never
gpg --batch --quiet --passphrase '' --quick-gen-key 'ksimg stranger <stranger@ksimg.invalid>' ed25519 sign never
gpg --batch --export 'archive@ksimg.invalid' >"$T/keyring.gpg"

# --- The archive: one Packages index, several suites signed in different ways.
DATE='Sat, 01 Mar 2025 12:00:00 UTC'
EPOCH=1740830400
hex() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
stanza() {  # stanza NAME VERSION SIZE [EXTRA-LINES]  (architecture: $ARCH, default amd64)
  printf 'Package: %s\nVersion: %s\nArchitecture: %s\n%bFilename: pool/main/t/toolchain/%s_%s_%s.deb\n' \
    "$1" "$2" "${ARCH:-amd64}" "${4:-}" "$1" "$2" "${ARCH:-amd64}"
  printf 'Size: %s\nSHA256: %s\nDescription: test package\n more description\n\n' "$3" "$(hex "$1 $2")"
}
{
  stanza gcc-99-testarch-linux-gnu 1.0-1 1000 'Depends: libc6 (>= 2.30)\n'
  stanza gcc-99-testarch-linux-gnu 1.0-2 2000 'Depends: cpp-99-testarch-linux-gnu (= 1.0-2),\n libc6 (>= 2.36)\n'
  stanza cpp-99-testarch-linux-gnu 1.0-2 3000
  stanza gcc-99-testarch-linux-gnu 1.0-2~bpo1 1500
  stanza unrelated 9.9 10
} >"$T/Packages"
WWW="$T/www"
{  # the arm64 index of suite "dual": arm64 builds, and one amd64 package filed there by mistake
  ARCH=arm64 stanza gcc-99-testarch-linux-gnu 1.0-2 2100 'Depends: libarm (>= 1)\n'
  ARCH=arm64 stanza cpp-99-testarch-linux-gnu 1.0-2 3100
  stanza misfiled-amd64-package 1.0 10
} >"$T/Packages.arm64"
make_suite() {  # make_suite SUITE SIGNER [VALID-UNTIL]; ARCHES="amd64 arm64" adds $T/Packages.arm64
  local d="$WWW/debian/dists/$1" a
  for a in ${ARCHES:-amd64}; do
    mkdir -p "$d/main/binary-$a"
    if [ "$a" = amd64 ]; then cp "$T/Packages" "$d/main/binary-$a/Packages"; else cp "$T/Packages.$a" "$d/main/binary-$a/Packages"; fi
    xz -c "$d/main/binary-$a/Packages" >"$d/main/binary-$a/Packages.xz"
    gzip -9nc "$d/main/binary-$a/Packages" >"$d/main/binary-$a/Packages.gz"
  done
  {
    printf 'Origin: ksimg test\nSuite: %s\nCodename: %s\nDate: %s\n' "$1" "$1" "$DATE"
    [ -z "${3:-}" ] || printf 'Valid-Until: %s\n' "$3"
    printf 'Architectures: %s\nComponents: main\nSHA256:\n' "${ARCHES:-amd64}"
    for a in ${ARCHES:-amd64}; do
      for f in Packages Packages.xz Packages.gz; do
        printf ' %s %s main/binary-%s/%s\n' "$(sha256sum <"$d/main/binary-$a/$f" | cut -d' ' -f1)" \
          "$(stat -c %s "$d/main/binary-$a/$f")" "$a" "$f"
      done
    done
  } >"$d/Release"
  gpg --batch --quiet --yes --local-user "$2" --digest-algo SHA256 --clearsign -o "$d/InRelease" "$d/Release"
}
make_suite good archive@ksimg.invalid 'Fri, 01 Jan 2100 00:00:00 UTC'
make_suite tampered archive@ksimg.invalid
sed -i 's/^Origin: ksimg test$/Origin: ksimg evil/' "$WWW/debian/dists/tampered/InRelease"
make_suite otherkey stranger@ksimg.invalid
make_suite expired archive@ksimg.invalid 'Sat, 01 Mar 2025 12:00:00 UTC'
ARCHES="amd64 arm64" make_suite dual archive@ksimg.invalid

# --- A copy of the project's data plus test recipes.
cp -r "$KSIMG_SRC/matrix" "$KSIMG_SRC/recipes" "$T/" && mkdir -p "$T/data" && mv "$T/matrix" "$T/recipes" "$T/data/"
recipe() {  # recipe NAME SUITE PACKAGE...
  local name=$1 suite=$2; shift 2
  local pk; pk=$(printf '"%s",' "$@"); pk="[${pk%,}]"
  printf '{"name": "%s", "kind": "debian", "arch": "mipsel", "gcc": "99.1", "libc": "none",
    "triple": "testarch-linux-gnu", "suite": "%s", "packages": %s}\n' "$name" "$suite" "$pk" \
    >"$T/data/recipes/$name.json"
}
recipe debian-test-good good gcc-99-testarch-linux-gnu cpp-99-testarch-linux-gnu
recipe debian-test-missing good gcc-99-testarch-linux-gnu no-such-package
recipe debian-test-tampered tampered gcc-99-testarch-linux-gnu
recipe debian-test-otherkey otherkey gcc-99-testarch-linux-gnu
recipe debian-test-expired expired gcc-99-testarch-linux-gnu
arm64_recipe() {  # arm64_recipe NAME HOSTS-JSON: a recipe of suite "dual" with that "hosts"
  printf '{"name": "%s", "kind": "debian", "arch": "mipsel", "gcc": "99.1", "libc": "none",
    "triple": "testarch-linux-gnu", "suite": "dual", "packages": ["gcc-99-testarch-linux-gnu",
    "cpp-99-testarch-linux-gnu"], "hosts": %s}\n' "$1" "$2" >"$T/data/recipes/$1.json"
}
arm64_recipe debian-test-dual '{"arm64": {}}'
arm64_recipe debian-test-dual-missing '{"arm64": {"packages": ["gcc-99-testarch-linux-gnu", "no-such-arm64"]}}'
arm64_recipe debian-test-dual-misfiled '{"arm64": {"packages": ["misfiled-amd64-package"]}}'

serve() {  # serve [--fault ...]: starts a server, sets PORT
  static_server "$WWW" "$@"
  PORT=$STATIC_PORT
}
serve
MIRROR="http://127.0.0.1:$PORT/debian"
mkdir -p "$T/work" && cd "$T/work"
lock() { "$KSIMG" --data-dir "$T/data" lock --keyring "$T/keyring.gpg" "$@"; }
expect() {  # expect NAME CMD...: exit 0
  local name=$1; shift
  "$@" >"$T/out" 2>"$T/err" || fail "$name: exit $? (stderr: $(cat "$T/err"))"
  checks=$((checks + 1))
}
expect_fail() {  # expect_fail CODE NEEDLE CMD...: that exit code, NEEDLE in the last stderr line
  local code=$1 needle=$2; shift 2
  local rc=0
  "$@" >"$T/out" 2>"$T/err" || rc=$?
  [ "$rc" = "$code" ] || fail "$*: exit $rc, want $code (stderr: $(cat "$T/err"))"
  tail -1 "$T/err" | grep -qF -- "$needle" || fail "$*: stderr lacks '$needle': $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "$*: printed a result on stdout"
  echo "ok (exit $rc): $(tail -1 "$T/err")"
  checks=$((checks + 1))
}

# --- The happy path: exact versions, pool paths, sizes, digests; no mirror in the lock.
expect good lock --recipe debian-test-good --debian-mirror "$MIRROR"
L=ksimg.lock.json
jq -e --arg h "$(hex 'gcc-99-testarch-linux-gnu 1.0-2')" --arg ir "$(sha256sum <"$WWW/debian/dists/good/InRelease" | cut -d' ' -f1)" \
  --argjson epoch "$EPOCH" '
  .schema == 1 and .source_date_epoch == $epoch
  and .debian_suites.good == {suite: "good", codename: "good", date: "Sat, 01 Mar 2025 12:00:00 UTC",
                              valid_until: "Fri, 01 Jan 2100 00:00:00 UTC", inrelease_sha256: $ir}
  and (.recipes | keys) == ["debian-test-good"]
  and .recipes["debian-test-good"].kind == "debian" and .recipes["debian-test-good"].status == "locked"
  and .recipes["debian-test-good"].packages[0] == {name: "gcc-99-testarch-linux-gnu", version: "1.0-2",
      architecture: "amd64", filename: "pool/main/t/toolchain/gcc-99-testarch-linux-gnu_1.0-2_amd64.deb",
      size: 2000, sha256: $h}
  and .recipes["debian-test-good"].packages[1].name == "cpp-99-testarch-linux-gnu"' "$L" >/dev/null \
  || fail "lock content: $(cat "$L")"
! grep -q '127\.0\.0\.1' "$L" || fail "the lock names the mirror"
grep -qE '^lock +ksimg\.lock\.json \(written\)' "$T/out" || fail "summary: $(cat "$T/out")"
grep -qE '^debian-test-good +debian +locked +good +2 ' "$T/out" || fail "summary row: $(cat "$T/out")"
grep -qF 'libc6 (>= 2.36)' "$T/err" || fail "no report of Depends outside the recipe: $(cat "$T/err")"
grep -qF 'good: InRelease verified' "$T/err" || fail "no progress on stderr"
cp "$L" "$T/first.json"

# Re-running changes nothing, byte for byte; the env variables work like the flags.
expect rerun env KSIMG_DEBIAN_MIRROR="$MIRROR" KSIMG_DEBIAN_KEYRING="$T/keyring.gpg" \
  "$KSIMG" --data-dir "$T/data" lock --recipe debian-test-good
cmp -s "$L" "$T/first.json" || fail "re-run changed the lock"
grep -qF '(unchanged)' "$T/out" || fail "re-run summary: $(cat "$T/out")"
expect json lock --recipe debian-test-good --debian-mirror "$MIRROR" --json
jq -e '.written == false and .packages == 2 and .bytes == 5000 and .recipes[0].name == "debian-test-good"
       and (.recipes[0].external_depends | index("libc6 (>= 2.36)")) != null' "$T/out" >/dev/null \
  || fail "json summary: $(cat "$T/out")"

# --- Failures: exit code, a message naming the problem, and the lock left as it was.
expect_fail 1 "no-such-package (recipe debian-test-missing)" lock --recipe debian-test-missing --debian-mirror "$MIRROR"
grep -qF 'not in suite good' "$T/err" || fail "missing package: suite not named"
expect_fail 3 "BAD signature" lock --recipe debian-test-tampered --debian-mirror "$MIRROR"
expect_fail 3 "no good signature" lock --recipe debian-test-otherkey --debian-mirror "$MIRROR"
expect_fail 3 "expired" lock --recipe debian-test-expired --debian-mirror "$MIRROR"
expect_fail 2 "keyring $T/nope.gpg not found" "$KSIMG" --data-dir "$T/data" lock --recipe debian-test-good \
  --debian-mirror "$MIRROR" --keyring "$T/nope.gpg"
expect_fail 1 "http://127.0.0.1:1/debian/dists/good/InRelease" \
  lock --recipe debian-test-good --debian-mirror "http://127.0.0.1:1/debian"
expect_fail 1 "HTTP 404" lock --recipe debian-test-good --debian-mirror "$MIRROR/nowhere"
cmp -s "$L" "$T/first.json" || fail "a failed run changed the lock"

# --- An arm64 host: its own index of the same signed Release, its packages under hosts.arm64.
expect dual lock --recipe debian-test-dual --debian-mirror "$MIRROR" --lock "$T/dual.json"
jq -e '.recipes["debian-test-dual"] | (.packages | map(.architecture)) == ["amd64", "amd64"]
  and (.hosts.arm64.packages | map(.architecture)) == ["arm64", "arm64"]
  and .hosts.arm64.packages[0].filename == "pool/main/t/toolchain/gcc-99-testarch-linux-gnu_1.0-2_arm64.deb"
  and .hosts.arm64.packages[0].size == 2100' "$T/dual.json" >/dev/null || fail "arm64 pins: $(cat "$T/dual.json")"
grep -qF 'debian-test-dual (arm64 host): Depends left to the base layer: libarm (>= 1)' "$T/err" ||
  fail "no arm64 Depends report: $(cat "$T/err")"
cp "$T/dual.json" "$T/dual.first"
expect_fail 1 "no-such-arm64 (recipe debian-test-dual-missing, arm64 host)" \
  lock --recipe debian-test-dual-missing --debian-mirror "$MIRROR" --lock "$T/dual.json"
grep -qF 'main/binary-arm64/Packages' "$T/err" || fail "missing arm64 package: index not named"
expect_fail 1 "misfiled-amd64-package 1.0 in main/binary-arm64/Packages.xz is for amd64, not arm64" \
  lock --recipe debian-test-dual-misfiled --debian-mirror "$MIRROR" --lock "$T/dual.json"
cmp -s "$T/dual.json" "$T/dual.first" || fail "a failed arm64 run changed the lock"

# --- Injected faults: a corrupt index is refused; a missing .xz falls back to .gz; a 500 is retried.
IDX=/debian/dists/good/main/binary-amd64
serve --fault "$IDX/Packages.xz=corrupt"
expect_fail 3 "the signed Release says" lock --recipe debian-test-good --debian-mirror "http://127.0.0.1:$PORT/debian" \
  --lock "$T/fresh.json"
[ ! -e "$T/fresh.json" ] || fail "a refused index left a lock file"
serve --fault "$IDX/Packages.xz=short"
expect_fail 3 "the signed Release says" lock --recipe debian-test-good --debian-mirror "http://127.0.0.1:$PORT/debian" \
  --lock "$T/fresh.json"
serve --fault "$IDX/Packages.xz=404"
expect xz-404 lock --recipe debian-test-good --debian-mirror "http://127.0.0.1:$PORT/debian" --lock "$T/gz.json"
cmp -s "$T/gz.json" "$T/first.json" || fail "the .gz fallback gave another lock: $(diff "$T/gz.json" "$T/first.json")"
grep -qF "GET $IDX/Packages.gz 200" "$T/server.log" || fail "no .gz fetched: $(cat "$T/server.log")"
serve --fault "/debian/dists/good/InRelease=500once"
expect retry lock --recipe debian-test-good --debian-mirror "http://127.0.0.1:$PORT/debian" --lock "$T/retry.json"
grep -qF 'retrying' "$T/err" || fail "no retry after a 500: $(cat "$T/err")"
cmp -s "$T/retry.json" "$T/first.json" || fail "the retried run gave another lock"
echo "lock_fake_archive: $checks checks passed"
