#!/usr/bin/env bash
# The kernel build end to end: Debian's linux-source-5.10 (bullseye, 5.10.223) served as a kernel.org
# mirror on 127.0.0.1 with a real sha256sums.asc (scripts/make-kernel-mirror), then
# `ksimg kbuild 5.10.223 --arch mipsel --boot-config --boot-test`: the cell's boot config
# (matrix/arches.json boot.k4, a small tinyconfig-based one), the k4/mipsel image built into a
# fresh layout (layers from the cache), the tarball downloaded and verified on the host, the build
# in podman with the network off, yielding a MIPS32 little-endian vmlinux, owned by the caller,
# and a complete metadata.json; then the kernel booted in qemu-system-mipsel (the CI
# boot of k4/mipsel): verdict and `Linux version 5.10.223` banner on stdout and in metadata.json.
# A second run with nothing changed is an incremental no-op (>= 5x faster, same vmlinux); a third
# into a fresh output dir with the same ccache dir hits ccache on every compile (same vmlinux).
# Then the TuxMake keys, and OUT/reproduce.sh run into a fresh dir with an empty local ccache and
# a real redis-server as ccache's remote storage (--ccache-remote, filled by the runs before):
# >= 90% of compiles come from redis and vmlinux is the same byte for byte.
# Last, the same build with --runtime builtin (store + bubblewrap): the same vmlinux, byte for byte.
# Skips (77) when a tool or the Debian archive is unavailable.
set -euo pipefail
: "${KSIMG_BUILD_DIR:?}"
# shellcheck source=lib.bash
source "$(dirname "$0")/lib.bash"
need_tools podman skopeo mmdebstrap jq readelf file curl dpkg-deb sha256sum qemu-system-mipsel redis-server redis-cli python3
need_static_server
need_debian bullseye
W="$KSIMG_TESTS_TMP/kbuild"               # kept between runs: the .deb and the mirror
mkdir -p "$W"
shared_layer_cache
run_dir kbuild
podman_storage
checks=0

KSIMG_KERNEL_DEBS=${KSIMG_KERNEL_DEBS:-$W/debs} "$KSIMG_SRC/scripts/make-kernel-mirror" "$W/mirror" 5.10.223 \
  >"$T/mirror.out" || fail "make-kernel-mirror"
want_sha=$(awk '/linux-5.10.223.tar.xz/ {print $1}' "$T/mirror.out")
grep -q "^$want_sha  linux-5.10.223.tar.xz$" "$W/mirror/v5.x/sha256sums.asc" || fail "sha256sums.asc lacks the tarball"
checks=$((checks + 1))

static_server "$W/mirror"
export KSIMG_KERNEL_MIRROR=$STATIC_URL

# A real redis on 127.0.0.1 as ccache's remote storage (--ccache-remote): every build below fills
# it; the reproduce.sh build at the end starts from an empty local ccache and must get its objects
# from redis.
RPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1 &
track $!
for _ in $(seq 50); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
REMOTE="redis://127.0.0.1:$RPORT"
args=(kbuild 5.10.223 --arch mipsel --lock "$KSIMG_SRC/ksimg.lock.json" --layout "$T/oci" -o "$T/out"
      --ccache-dir "$T/ccache" --ccache-remote "$REMOTE" --boot-config --targets vmlinux)
# enable: the boot settings' list, then the versioned symbols whose range holds 5.10.223
boot_cfg=$(jq -c 'def v: split(".") | map(tonumber);
  .arches.mipsel as $x | $x.boot.k4 | {defconfig: (.defconfig // $x.defconfig.k4),
   enable: (.enable + [(.enable_by_version // [])[] | select((.from == null or (.from | v) <= ("5.10.223" | v))
                                                            and (.below == null or (.below | v) > ("5.10.223" | v))) | .symbol]),
   disable}' "$KSIMG_SRC/matrix/arches.json")
start=$(date +%s)
"$KSIMG" "${args[@]}" --boot-test >"$T/run1.out" 2>"$T/run1.err" || { tail -30 "$T/run1.err" >&2; fail "ksimg kbuild"; }
cold=$(( $(date +%s) - start ))
grep -q "building it" "$T/run1.err" || fail "the image was not built from the lock: $(head -5 "$T/run1.err")"
# The host read the sums and downloaded the tarball (or found it in the shared cache by sha256).
grep -q "GET /v5.x/sha256sums.asc 200" "$T/server.log" || fail "the host did not read sha256sums.asc: $(cat "$T/server.log")"
grep -q "GET /v5.x/linux-5.10.223.tar.xz 200" "$T/server.log" || grep -q "kernel source: cached" "$T/run1.err" \
  || fail "the host did not download the tarball: $(cat "$T/server.log")"
checks=$((checks + 2))

# vmlinux: MIPS32 little-endian, owned by the caller like every output.
readelf -h "$T/out/vmlinux" >"$T/readelf"
grep -q "Class:.*ELF32" "$T/readelf" && grep -q "Data:.*little endian" "$T/readelf" \
  && grep -q "Machine:.*MIPS R3000" "$T/readelf" || fail "vmlinux: $(cat "$T/readelf")"
file -b "$T/out/vmlinux" | grep -q "32-bit LSB executable, MIPS, MIPS32" || fail "file: $(file -b "$T/out/vmlinux")"
[ -z "$(find "$T/out" ! -user "$(id -u)" -print -quit)" ] || fail "outputs not owned by $(id -u): $(find "$T/out" ! -user "$(id -u)" | head -3)"
grep -q "^CONFIG_CPU_LITTLE_ENDIAN=y" "$T/out/.config" && grep -q "^CONFIG_MIPS_MALTA=y" "$T/out/.config" \
  || fail ".config lacks the requested options"
checks=$((checks + 4))

# metadata.json: every field.
M="$T/out/metadata.json"
digest=$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "k4-mipsel") | .digest' "$T/oci/index.json")
jqc() { jq -e "$@" "$M" >/dev/null || fail "metadata.json: $1 (is: $(jq -c . "$M" | head -c 3000))"; checks=$((checks + 1)); }
jqc '.schema == 1 and .status == "succeeded" and (.started | test("Z$")) and (.finished | test("Z$")) and (.updated >= .started)'
jqc '.kernel.version == "5.10.223" and (.kernel.release | startswith("5.10.223"))'
jqc '.era == "k4" and .cell == "k4/mipsel" and .arch == "mipsel" and .kernel_arch == "mips"'
jqc --arg d "$digest" '.image.digest == $d and (.image.ref | endswith("k4-mipsel")) and (.image.tag | endswith("k4-mipsel"))'
jqc '.toolchain.recipe == "debian-bullseye-gcc10-mipsel" and (.toolchain.gcc | startswith("10.")) and (.toolchain.binutils | startswith("2.35")) and .toolchain.cross_compile == "mipsel-linux-gnu-"'
jqc '(.make.command | contains("ARCH=mips") and contains("CROSS_COMPILE=mipsel-linux-gnu-") and contains("O=/out/build")) and .make.jobs >= 1 and (.make.env.KBUILD_BUILD_TIMESTAMP | length > 0) and .make.ccache == {"mode": "depend", "dir": "/ccache"}'
jqc --argjson b "$boot_cfg" '.config.source == "boot-config" and (.config.boot_config | {defconfig, enable, disable}) == $b
     and .config.boot_config.cell == "k4/mipsel" and .config.enable == [] and .config.disable == [] and .config.reused == false'
jqc '[.quirks[].id] | index("wno-error-wrapper") != null and index("hermetic-build-identity") != null and index("arch-little-endian") != null'
jqc 'all(.quirks[]; (.reason | length) > 20 and (.action | length) > 0)'
jqc '.targets.vmlinux.status == "ok" and .targets.vmlinux.seconds > 0'
jqc '[.steps[].status] | all(. == "ok") and length >= 3'
jqc --arg s "$want_sha" '.source.kind == "tarball" and .source.sha256 == $s'
jqc '.source_date_epoch | tostring | test("^[0-9]+$")'
jqc '.artifacts.vmlinux.elf == {"bits": 32, "endian": "little", "matches_arch": true}'
for f in vmlinux System.map .config; do
  jqc --arg f "$f" --arg s "$(sha256sum "$T/out/$f" | cut -d' ' -f1)" --argjson n "$(stat -c %s "$T/out/$f")" \
    '.artifacts[$f].sha256 == $s and .artifacts[$f].size == $n and .artifacts[$f].path == $f'
done
[ -s "$T/out/build.log" ] && [ -s "$T/out/System.map" ] || fail "build.log or System.map missing"
checks=$((checks + 1))

# The boot (in-process after the build, as `ksimg boot-test OUT`): verdict + banner on stdout,
# the record in metadata.json, the console log kept.
grep -q "^k4/mipsel: boot passed" "$T/run1.out" && grep -q "^  Linux version 5.10.223" "$T/run1.out" \
  || fail "no boot verdict/banner on stdout: $(cat "$T/run1.out")"
jqc '.boot.status == "passed" and (.boot.banner | startswith("Linux version 5.10.223")) and (.boot.marker | length > 0)
     and .boot.command[0] == "qemu-system-mipsel"'
grep -q "Linux version 5.10.223" "$(jq -r .boot.log "$M")" || fail "boot log $(jq -r .boot.log "$M") lacks the banner"
checks=$((checks + 2))
boot_s=$(jq -r '.boot.seconds | floor' "$M")

# No change: the layout's image, the cached tarball, the same build dir: an incremental no-op.
vm1=$(sha256sum <"$T/out/vmlinux")
start=$(date +%s)
"$KSIMG" "${args[@]}" >"$T/run2.out" 2>"$T/run2.err" || { tail -30 "$T/run2.err" >&2; fail "ksimg kbuild (again)"; }
warm=$(( $(date +%s) - start ))
[ "$(grep -c "GET /v5.x/linux-5.10.223.tar.xz" "$T/server.log")" -le 1 ] || fail "the tarball was downloaded twice"
grep -q "kernel source: cached" "$T/run2.err" || fail "the second run did not use the cached tarball"
grep -q "building it" "$T/run2.err" && fail "the image was rebuilt"
[ "$(sha256sum <"$T/out/vmlinux")" = "$vm1" ] || fail "a no-change rebuild changed vmlinux"
jq -e '.status == "succeeded" and .config.reused == true' "$M" >/dev/null || fail "rebuild: $(jq -c '{status, config}' "$M")"
[ $((warm * 5)) -le "$cold" ] || fail "no-change rebuild took ${warm}s, cold ${cold}s (want >= 5x faster)"
checks=$((checks + 5))

# A fresh output dir with the same ccache dir (ccache through a cache dir the host mounts):
# every compile is a ccache hit and vmlinux is the same bit for bit (hermetic
# KBUILD_BUILD_*, the same /out paths in the container). The stats come from the image's ccache.
ccache_in_image() {
  podman run --rm --network=none -v "$T/ccache:/ccache" -e CCACHE_DIR=/ccache localhost/kernelsmith:k4-mipsel ccache "$@"
}
ccache_in_image -z >/dev/null || fail "ccache -z in the image"
args3=(); for a in "${args[@]}"; do [ "$a" = "$T/out" ] && a="$T/out3"; args3+=("$a"); done
start=$(date +%s)
"$KSIMG" "${args3[@]}" >"$T/run3.out" 2>"$T/run3.err" || { tail -30 "$T/run3.err" >&2; fail "ksimg kbuild (fresh dir, warm ccache)"; }
fresh=$(( $(date +%s) - start ))
stats=$(ccache_in_image --print-stats) || fail "ccache --print-stats in the image"
stat() { awk -v k="$1" '$1 == k {print $2}' <<<"$stats"; }
hits=$(( $(stat direct_cache_hit) + $(stat preprocessed_cache_hit) )) misses=$(stat cache_miss)
[ "$hits" -ge 200 ] && [ "$misses" -le $((hits / 50)) ] || fail "fresh dir, warm ccache: $hits hits, $misses misses"
jq -e '.status == "succeeded" and .config.reused == false and (.make.wrapper | startswith("specs"))' "$T/out3/metadata.json" >/dev/null \
  || fail "fresh-dir build: $(jq -c '{status, config: .config.reused, make: .make.wrapper}' "$T/out3/metadata.json")"
[ "$(sha256sum <"$T/out3/vmlinux")" = "$vm1" ] || fail "the warm-ccache build made another vmlinux"
[ $((fresh * 2)) -le "$cold" ] || fail "a fresh dir with a warm ccache took ${fresh}s, cold ${cold}s (want >= 2x faster)"
checks=$((checks + 4))

# TuxMake's keys, as `tuxrun --tuxmake OUT` reads them (the key set itself: tests/unit/kbuild_tuxmake_test.cpp).
jqc --arg d "$digest" '.build.target_arch == "mips" and .build.toolchain == "gcc-10" and .results.status == "PASS"
     and .results.artifacts.kernel == ["vmlinux"] and .results.targets.vmlinux.status == "PASS"
     and .runtime.image_digest == $d and (.compiler.version | startswith("10.")) and (.tools.ld | startswith("2.35"))'

# reproduce.sh, written by kbuild: the image by digest, the tarball by sha256, this .config, the
# targets. Run into a fresh dir (with the same ccache dir, so it costs little) it must give the
# same vmlinux byte for byte.
R="$T/out/reproduce.sh"
[ -x "$R" ] && jq -e '.reproduce == "reproduce.sh"' "$M" >/dev/null || fail "no reproduce.sh in $T/out"
grep -q -- "--image kernelsmith@$digest " "$R" && grep -q "^sha256=$want_sha$" "$R" || fail "reproduce.sh: $(cat "$R")"
start=$(date +%s)
mkdir -p "$T/ccache4"  # empty: every object must come from redis
sh "$R" "$T/out4" --ccache-dir "$T/ccache4" --ccache-remote "$REMOTE" >"$T/run4.out" 2>"$T/run4.err" ||
  { tail -30 "$T/run4.err" >&2; fail "reproduce.sh"; }
repro=$(( $(date +%s) - start ))
stats=$(podman run --rm --network=none -v "$T/ccache4:/ccache" -e CCACHE_DIR=/ccache localhost/kernelsmith:k4-mipsel ccache --print-stats) ||
  fail "ccache --print-stats in the image"
rhits=$(stat remote_storage_hit) lhits=$(stat local_storage_hit) rmiss=$(stat cache_miss)
[ "$rhits" -ge 200 ] && [ $((rhits * 10)) -ge $(( (rhits + lhits + rmiss) * 9 )) ] ||
  fail "empty local ccache + redis: $rhits remote hits, $lhits local hits, $rmiss misses (want >= 90% remote)"
jq -e '.status == "succeeded" and (.config.source | startswith("config "))' "$T/out4/metadata.json" >/dev/null ||
  fail "reproduced build: $(jq -c '{status, config}' "$T/out4/metadata.json")"
cmp -s "$T/out/vmlinux" "$T/out4/vmlinux" || fail "reproduce.sh built another vmlinux"
cmp -s "$T/out/.config" "$T/out4/.config" || fail "reproduce.sh built another .config: $(diff "$T/out/.config" "$T/out4/.config" | head)"
checks=$((checks + 5))

# The built-in runtime (the layout image's layers imported into a fresh tree store, checked out
# by hardlinks, run under bubblewrap with the network off), into a fresh output dir with its own
# empty ccache dir: the same vmlinux, bit for bit, as podman's, owned by the caller.
if command -v bwrap >/dev/null; then
  # (without --ccache-remote: this run compiles everything itself, not from redis; builtin_runtime
  # checks that --ccache-remote redis:// reaches the host's 127.0.0.1 under builtin)
  args4=(); skip_next=0; for a in "${args[@]}"; do
    if [ "$skip_next" = 1 ]; then skip_next=0; continue; fi
    if [ "$a" = --ccache-remote ]; then skip_next=1; continue; fi
    case "$a" in "$T/out") a="$T/out5" ;; "$T/ccache") a="$T/ccache5" ;; esac; args4+=("$a"); done
  start=$(date +%s)
  KSIMG_STORE="$T/store" "$KSIMG" "${args4[@]}" --runtime builtin >"$T/run5.out" 2>"$T/run5.err" \
    || { tail -30 "$T/run5.err" >&2; fail "ksimg kbuild --runtime builtin"; }
  builtin_s=$(( $(date +%s) - start ))
  grep -q "runtime builtin: $T/store/images/" "$T/run5.err" || fail "not run from the store: $(head "$T/run5.err")"
  cmp "$T/out/vmlinux" "$T/out5/vmlinux" || fail "the built-in runtime made another vmlinux than podman"
  [ -z "$(find "$T/out5" ! -user "$(id -u)" -print -quit)" ] || fail "builtin outputs not owned by $(id -u)"
  jq -e --arg d "$digest" '.status == "succeeded" and .image.digest == $d' "$T/out5/metadata.json" >/dev/null \
    || fail "builtin metadata: $(jq -c '{status, image}' "$T/out5/metadata.json")"
  checks=$((checks + 4))
  echo "kbuild_mipsel: --runtime builtin, cold ccache: ${builtin_s}s (store import + checkout + build), same vmlinux as podman"
else
  fail "bwrap is not installed (apt-get install bubblewrap; scripts/install-deps has it): the built-in runtime cannot be checked"
fi

echo "kbuild_mipsel: cold build + boot ${cold}s (boot ${boot_s}s), no-change rebuild ${warm}s"
echo "kbuild_mipsel: reproduce.sh into a fresh dir, empty local ccache + redis ${repro}s: the same vmlinux, $rhits of $((rhits + lhits + rmiss)) compiles from redis"
echo "kbuild_mipsel: fresh output dir with a warm ccache ${fresh}s: $hits ccache hits, $misses misses, same vmlinux"
echo "kbuild_mipsel: $checks checks passed"
