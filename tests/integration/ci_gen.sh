#!/usr/bin/env bash
# `ksimg ci github|gitlab`: the k4/mipsel cell image is built (layers from the cells_build cache)
# and pushed to a real docker-registry, recording its pin in images.lock.json; the generated
# workflow and pipeline are parsed as YAML (PyYAML), their matrices checked (one job per (kernel,
# arch), grouped per cell, the image by digest), and every job's command is run here as the CI
# would run it, with the matrix values substituted and KSIMG_KBUILD_FLAGS="--dry-run --source
# DIR": podman pulls the pinned image from the registry by digest and the in-image kbuild prints
# its plan naming that digest. Skips (77) without podman, mmdebstrap, PyYAML or the Debian archive.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=registry_lib.bash
source "$HERE/registry_lib.bash"
need_tools podman mmdebstrap jq curl dpkg-deb python3
python3 -c 'import yaml' 2>/dev/null || skip "PyYAML (python3-yaml) is not installed"
need_debian bullseye
shared_layer_cache
scratch ci_gen
podman_storage
LOCK="$KSIMG_SRC/ksimg.lock.json"
"$KSIMG" -q build --cell k4/mipsel --lock "$LOCK" --layout "$T/oci" --no-smoke >/dev/null 2>"$T/build.err" ||
  { cat "$T/build.err"; fail "ksimg build --cell k4/mipsel"; }
REG=$(start_registry "$T/reg")
printf '[[registry]]\nlocation = "127.0.0.1:%s"\ninsecure = true\n' "$REG" >"$T/registries.conf"
export CONTAINERS_REGISTRIES_CONF="$T/registries.conf" KSIMG_IMAGES_LOCK="$T/images.lock.json"
"$KSIMG" -q push --cell k4/mipsel --to "127.0.0.1:$REG/ci" --layout "$T/oci" --lock "$LOCK" >/dev/null
D=$(jq -r '.images["k4-mipsel"].digest' images.lock.json)
REF=$(jq -r '.images["k4-mipsel"].reference' images.lock.json)

echo "== generate and parse"
"$KSIMG" -q ci github --kernels 5.10.223,4.19.300 -o gh.yml
"$KSIMG" -q ci gitlab --kernels 5.10.223 --arch mipsel >gl.yml
# jobs.tsv: job <TAB> image <TAB> command, one line per (kernel, arch), matrix values substituted.
python3 - gh.yml gl.yml >jobs.tsv <<'PY'
import re, sys, yaml
gh, gl = (yaml.safe_load(open(f)) for f in sys.argv[1:3])
assert gh["name"] and "push" in gh["on"], gh
for name, job in gh["jobs"].items():
    run = [s["run"] for s in job["steps"] if "run" in s]
    assert len(run) == 1 and any(s.get("uses", "").startswith("actions/upload-artifact") for s in job["steps"]), job
    for m in job["strategy"]["matrix"]["include"]:
        cmd = re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda g: m[g.group(1)], run[0])
        print(f"github:{name}\t{job['env']['KSIMG_IMAGE']}\t{cmd}")
for name, job in gl.items():
    if name == "stages":
        continue
    assert job["artifacts"]["paths"], job
    for m in job["parallel"]["matrix"]:
        cmd = job["script"][0].replace("$KERNEL", m["KERNEL"]).replace("$ARCH", m["ARCH"])
        print(f"gitlab:{name}\t{job['variables']['KSIMG_IMAGE']}\t{cmd}")
PY
[ "$(cut -f1 jobs.tsv | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')" = "github:k4-mipsel=2 gitlab:kbuild:k4-mipsel=1 " ] ||
  fail "jobs: $(cat jobs.tsv)"
[ "$(cut -f2 jobs.tsv | sort -u)" = "$REF" ] || fail "the jobs do not pull $REF: $(cut -f2 jobs.tsv | sort -u)"
grep -q 'ksimg kbuild "4.19.300" --arch "mipsel"' jobs.tsv || fail "no 4.19.300 job: $(cat jobs.tsv)"
ok "github: one k4-mipsel matrix job with 2 (kernel, arch) entries, gitlab: 1; every job pulls $REF"

echo "== run the jobs' commands as CI would (dry run)"
mkdir -p bin src
ln -sf "$KSIMG" bin/ksimg
n=0
while IFS=$'\t' read -r job image cmd; do
  n=$((n + 1))
  KSIMG_IMAGE="$image" KSIMG_KBUILD_FLAGS="--dry-run --source $T/src" PATH="$T/bin:$PATH" \
    bash -c "$cmd" >"job$n.out" 2>"job$n.err" || { cat "job$n.err"; fail "$job: $cmd"; }
  grep -q "^image .*(digest $D)" "job$n.out" || fail "$job did not run $D: $(cat "job$n.out")"
done <jobs.tsv
ok "all $n job commands ran: podman pulled $D from the registry and kbuild planned in it"
expect 2 "has no pin for k4-arm64" "$KSIMG" ci gitlab --kernels 5.10.223 --arch arm64
ok "an --arch without a pin exits 2 naming the cell to push"
echo "PASS: $CHECKS checks"
