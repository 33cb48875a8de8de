// Running a script recipe's steps (see script.hpp; recipes/README.md "kind script"): the
// base layer (base_layer.hpp, the lock's "base" entry, built or cached like a cell image's)
// becomes a one-layer image in the private layout <cache>/script/oci, which run::load puts
// into podman's storage; the steps run there with --network=none, /inputs read-only, the
// output directory at install_dir, /build as scratch and /ksimg holding steps.sh and the log.
#include <thread>

#include "layers/base_layer.hpp"
#include "layers/script.hpp"
#include "oci/image.hpp"
#include "recipes/apt_sources.hpp"
#include "recipes/base.hpp"
#include "run/podman.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::layers::detail {

namespace fs = std::filesystem;

namespace {

BaseBuild base_build(const BuildContext& ctx, int64_t epoch) {
  auto def = recipes::load_base(matrix::data_files(ctx.data_dir));
  if (!def)
    throw DataError("layers/base.json is missing from the data; script recipes build in the base image");
  if (!ctx.lock || !ctx.lock->recipes.count(recipes::kBaseName))
    throw UsageError(
        ctx.lock_file +
        " does not pin the base layer, which script recipes build in; run 'ksimg lock --recipe base'");
  return BaseBuild{
      *def,           ctx.lock->recipes.at(recipes::kBaseName),           epoch,      ctx.compression,
      ctx.cache_root, recipes::discover_debian_mirror(ctx.debian_mirror), ctx.keyring};
}

// KSIMG_JOBS when set to a positive number, else the host's processor count.
std::string jobs() {
  const char* env = std::getenv("KSIMG_JOBS");
  std::string v = env ? env : "";
  if (!v.empty() && v.size() < 5 && v.find_first_not_of("0123456789") == std::string::npos &&
      std::stoi(v) > 0)
    return v;
  unsigned n = std::thread::hardware_concurrency();
  return std::to_string(n ? n : 1);
}

}  // namespace

ScriptBase script_base_layer(const BuildContext& ctx, int64_t epoch) {
  fs::path root = ctx.cache_root / "script" / "oci";
  auto layout = oci::Layout::create(root);
  BaseLayer base = build_base_layer(base_build(ctx, epoch), layout);
  return {base.layer, root, epoch};
}

std::string load_script_base(const ScriptBase& base) {
  auto layout = oci::Layout::open(base.layout);
  std::string tag = "script-base-" + base.layer.diff_id.hex().substr(0, 16);
  oci::ImageSpec spec;
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  spec.created = base.epoch;
  spec.created_by = {"ksimg base layer (layers/base.json), for script recipes"};
  spec.labels = {{"ksimg.purpose", "script recipe builds"}};
  auto img = oci::assemble_image(layout, spec, {base.layer});
  layout.set_tag(tag, img.manifest);
  return run::load(base.layout, tag);
}

int run_steps(const StepsRun& r, std::string& podman_err) {
  run::RunOptions o;
  o.network = false;
  o.mounts = {{r.work / "inputs", "/inputs", true},
              {r.out, r.install_dir, false},
              {r.work / "build", "/build", false},
              {r.work / "ksimg", "/ksimg", false}};
  o.env = r.plan->env;
  o.env["JOBS"] = jobs();
  o.workdir = "/build";
  std::vector<std::string> argv{"/bin/bash", "-c",
                                "exec /bin/bash -eux -o pipefail /ksimg/steps.sh >/ksimg/build.log 2>&1"};
  log::debug("podman: " + [&] {
    std::string s;
    for (const auto& a : run::podman_run_argv(r.image, argv, o)) s += (s.empty() ? "" : " ") + a;
    return s;
  }());
  auto res = run::run_in(r.image, argv, o);
  podman_err = res.err;
  return res.status;
}

}  // namespace ksimg::layers::detail
