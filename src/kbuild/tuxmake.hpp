// TuxMake-compatible keys in OUT/metadata.json, so that `tuxrun --tuxmake OUT` (LKFT, KernelCI)
// boots what kbuild builds: `build` (target_arch in TuxMake's arch names, toolchain, targets,
// kconfig, jobs, runtime), `results` (status, targets, artifacts.kernel/modules/dtbs/config),
// `compiler`, `runtime` (image name, digest, tag), `tools` (gcc, ld) and `source`. They sit
// beside kbuild's own keys (docs/kbuild.md "TuxMake keys"). When modules were installed to
// OUT/modules, OUT/modules.tar.xz holds them as TuxMake packs them (lib/modules/...).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace ksimg::kbuild {

struct BuildContext;

// TuxMake's name for a kernelsmith arch: mipsel -> "mips", armhf -> "armhf", riscv64 ->
// "riscv", the powerpc family -> "powerpc".
std::string tuxmake_arch(const std::string& arch);

// Adds the TuxMake keys to `doc` (kbuild's metadata, with targets, artifacts, toolchain,
// image, make and config filled in) for the output directory `out`. `kernel`: the boot image's
// file name in `out` when one was built ("": vmlinux, when built).
void add_tuxmake_keys(nlohmann::ordered_json& doc, const std::filesystem::path& out,
                      const std::string& kernel);

// Packs OUT/modules into OUT/modules.tar.xz (when there), then adds the keys to the metadata.
void tuxmake_metadata(BuildContext& c);

}  // namespace ksimg::kbuild
