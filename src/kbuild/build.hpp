// `kbuild build VERSION` and `kbuild module DIR`: the whole in-image
// build, from the cell check to artifacts and metadata.json. The pieces live in plan.cpp
// (what to run), source.cpp, build_config.cpp, build_targets.cpp and devel.cpp.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "kbuild/kconfig.hpp"
#include "kbuild/metadata.hpp"
#include "kbuild/plan.hpp"
#include "kbuild/runner.hpp"
#include "kbuild/source.hpp"

namespace ksimg::kbuild {

// Runs the build; returns the exit code (0, or 128+N after SIGTERM/SIGINT). Throws Error for
// the other failures after recording them in metadata.json.
int run_build(const BuildOptions& o);

struct ModuleOptions {
  std::filesystem::path dir, kernel, out = "/out";
  int jobs = 0;
  std::optional<std::filesystem::path> ccache_dir;
};

// Builds the out-of-tree module in `dir` against a devel tree made by `kbuild build
// --targets devel`; copies every .ko to out. Throws on failure.
void run_module(const ModuleOptions& o);

// Internal: the state the build steps share.
struct BuildContext {
  const BuildOptions& opts;
  Plan plan;
  Metadata meta;
  Runner runner;
  Source source;
};

// Called from a catch block while step `step` fails: records it as metadata.json's
// failed_step and rethrows, an Error as it is and any other exception (std::filesystem's,
// the JSON library's) as an internal error naming the step, the path and what to report.
[[noreturn]] void rethrow_step_failure(BuildContext& c, const std::string& step);

// build_config.cpp: the config step (defconfig or .config, fragments, capability disables,
// the check that every requested option stuck). Skipped when the inputs are unchanged and the
// build dir already has a .config.
void configure(BuildContext& c);
// The requested settings (the boot config's enable/disable, --fragment, --enable, --disable), in order.
std::vector<Setting> requested_settings(const BuildOptions& o, const Plan& p);

// build_targets.cpp: each target in turn, each recorded with status and duration.
void build_targets(BuildContext& c);

// What a target left in the build dir, taken into OUT. An arch or config for which the
// target made nothing gives 0 (an empty dtbs/ or modules/), never an error.
// Copies every *.dtb under BUILD/arch/KARCH/boot/dts (vendor subdirectories kept, as ARM has
// them since 6.5) to OUT/dtbs, replacing it whole; returns how many.
size_t collect_dtbs(const fs::path& build, const std::string& kernel_arch, const fs::path& out);
// Kernel modules under DIR (OUT/modules after modules_install), compressed ones (.ko.xz,
// .ko.gz, .ko.zst) included; 0 when DIR does not exist.
size_t count_modules(const fs::path& dir);
// Files under DIR (OUT/headers after headers_install); 0 when DIR does not exist.
size_t count_files(const fs::path& dir);
// Copies vmlinux, the boot image, System.map and .config to OUT and records their sha256.
void collect_artifacts(BuildContext& c);

// devel.cpp: OUT/devel, the tree an out-of-tree module build needs, from the source tree and
// the build dir (after `make modules_prepare`, the step before it in target_steps).
void make_devel(BuildContext& c);

// wrappers.cpp: writes the compiler wrapper scripts into plan.wrapper_dir (first on PATH) and
// the specs file; where a compiler honours the specs file, points its make variable (CC=,
// HOSTCC=, HOSTCXX=) at `[ccache] REAL -specs=FILE` so no wrapper process runs per compile
// (plan.wrapper_mode says which; plan.ccache_mode whether ccache runs). Returns make's environment (PATH,
// quirk env, CCACHE_*).
std::map<std::string, std::string> prepare_wrappers(Plan& p);
// Whether the driver `real` appends the specs file's flags to a compile (gcc's *self_spec):
// `real -specs=FILE -### -c -x c /dev/null` shows each of them on the compiler proper's line.
bool specs_honoured(const std::string& real, const fs::path& specs, const std::vector<std::string>& flags);

}  // namespace ksimg::kbuild
