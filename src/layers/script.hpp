// The `script` toolchain kind (recipes/README.md
// "kind script"): a toolchain built from pinned source tarballs inside the base image with
// podman. The inputs come through the download cache (verified), the steps run with
// network off, /inputs read-only, an empty output directory mounted at install_dir (so the
// toolchain's recorded paths are its final ones) and /build as scratch space; the output
// tree is cached under <cache>/script/<key>/ and becomes the layer (at install_dir).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "layers/build_context.hpp"
#include "matrix/data.hpp"
#include "oci/layout.hpp"
#include "recipes/lock.hpp"
#include "recipes/spec.hpp"

namespace ksimg::layers {

// What runs in the container: the script text (the recipe's steps, or its builder's
// template), the environment, and the in-container paths.
struct ScriptPlan {
  std::string script;                      // run as: bash -eux -o pipefail <script>
  std::map<std::string, std::string> env;  // TRIPLE, PREFIX, GCC_VERSION, ... (docs: recipes/README.md)
  std::vector<recipes::LockedInput> inputs;
};

// The builder's template script ("kernel-only", "musl-cross-make"); UsageError for another name.
const std::string& builder_template(const std::string& builder);

// The plan for `recipe` from its spec and the lock entry's (pinned) inputs.
ScriptPlan script_plan(const matrix::Recipe& recipe, const recipes::ScriptSpec& spec,
                       const recipes::LockedRecipe& locked, int64_t epoch);

// The output cache key (hex): the script, the environment, every input's sha256, the base
// layer's diff_id and a format number. Equal keys reuse the cached tree instead of building.
// "sha256:<hex>" of an input pinned by its bytes, else "nar:sha256-<base64>".
std::string input_pin(const recipes::LockedInput& in);

std::string script_cache_key(const ScriptPlan& plan, const std::string& base_diff_id);

// The last `lines` lines of `text`, without trailing newlines.
std::string tail_lines(const std::string& text, size_t lines);
// The last `lines` lines of the file at `log` ("" when it is missing or empty).
std::string log_tail(const std::filesystem::path& log, size_t lines = 20);

namespace detail {

// The toolchain layer of a script recipe (called by build_toolchain_layer). UsageError when
// the lock entry is pending (an input's pin is missing) or the lock has no base; IntegrityError
// for an input whose bytes do not match; RuntimeError when the steps fail (with the log's
// last lines and its path) or install no <install_dir>/bin/<triple>-gcc.
ToolchainLayer build_script(const BuildContext& ctx, const matrix::Recipe& recipe,
                            const recipes::ScriptSpec& spec, const recipes::LockedRecipe& locked,
                            int64_t epoch, const oci::Layout& layout);

// The base layer the steps run on, built or taken from the cache exactly as for cell images
// (the lock's "base" entry, the same epoch), its blob in the private layout <cache>/script/oci.
struct ScriptBase {
  oci::LayerResult layer;
  std::filesystem::path layout;
  int64_t epoch = 0;
};
// UsageError when the lock does not pin the base (run `ksimg lock --recipe base`).
ScriptBase script_base_layer(const BuildContext& ctx, int64_t epoch);

// Tags the base as a one-layer image ("script-base-<diff_id prefix>") in its layout and
// loads it into podman's storage; returns the image name for run::run_in.
std::string load_script_base(const ScriptBase& base);

struct StepsRun {
  std::filesystem::path work;  // holds inputs/, build/, ksimg/ (the log is ksimg/build.log)
  std::filesystem::path out;   // mounted at install_dir
  std::string image;
  const ScriptPlan* plan = nullptr;
  std::string install_dir;
};

// Runs the plan's script in the image (network off) and returns its exit status; the
// script's stdout and stderr go to <work>/ksimg/build.log. `podman_err` receives podman's
// own stderr (for failures before the script ran).
int run_steps(const StepsRun& run, std::string& podman_err);

}  // namespace detail

}  // namespace ksimg::layers
