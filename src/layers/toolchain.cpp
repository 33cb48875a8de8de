// build_toolchain_layer (see toolchain.hpp): which lock entry pins the recipe (docs/lock.md:
// recipe_sha256 must match the recipe file as it is now, status must be "locked"), the
// SOURCE_DATE_EPOCH to write with, and dispatch to the kind's builder; the closure check on
// layer blobs (closure.hpp). --allow-unpinned resolves the recipe as it is instead: debian
// recipes against the live, signed archive index (as `ksimg lock` would, into a throwaway
// lock), tarball recipes from their own URLs and sha256.
#include "layers/toolchain.hpp"

#include <cstdlib>

#include "layers/script.hpp"
#include "layers/toolchain_kinds.hpp"
#include "oci/inspect.hpp"
#include "recipes/locker.hpp"
#include "recipes/script.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers {

namespace {

struct Pin {
  recipes::LockedRecipe entry;
  std::optional<int64_t> epoch;  // the epoch of the lock the entry came from
  bool pinned = true;
};

// Why the lock does not pin `spec`, or "" when it does.
std::string unpinned_reason(const BuildContext& ctx, const recipes::Spec& spec) {
  if (!ctx.lock) return "there is no lock file (" + ctx.lock_file + ")";
  auto it = ctx.lock->recipes.find(spec.name);
  if (it == ctx.lock->recipes.end()) return ctx.lock_file + " has no entry for recipe " + spec.name;
  if (it->second.recipe_sha256 != spec.recipe_sha256)
    return "recipes/" + spec.name + ".json changed since it was locked (recipe_sha256 differs)";
  if (it->second.status != "locked")
    return "recipe " + spec.name + " is " + it->second.status + " in the lock" +
           (it->second.reason.empty() ? "" : " (" + it->second.reason + ")");
  return "";
}

Pin resolve_unpinned(const BuildContext& ctx, const recipes::Spec& spec) {
  Pin p;
  p.pinned = false;
  if (spec.kind == "script") {
    p.entry = recipes::lock_script(spec);  // every input is pinned in the recipe (sha256 or nar_sha256)
    return p;
  }
  if (spec.kind == "tarball") {
    p.entry.kind = spec.kind;
    p.entry.status = "locked";
    p.entry.urls = spec.tarball.urls;
    p.entry.sha256 = spec.tarball.sha256;
    return p;
  }
  TempDir tmp("unpinned");
  recipes::LockRequest req;
  req.data_dir = ctx.data_dir;
  req.recipes = {spec.name};
  req.mirror_flag = ctx.debian_mirror;
  req.keyring = ctx.keyring;
  req.lock_file = tmp / "lock.json";
  auto res = recipes::lock_recipes(req, *ctx.transport);
  p.entry = res.lock.recipes.at(spec.name);
  p.epoch = res.lock.source_date_epoch;
  return p;
}

Pin pin_for(const BuildContext& ctx, const recipes::Spec& spec) {
  std::string why = unpinned_reason(ctx, spec);
  if (why.empty()) return {ctx.lock->recipes.at(spec.name), ctx.lock->source_date_epoch, true};
  if (!ctx.allow_unpinned)
    throw UsageError(why + "; run 'ksimg lock --recipe " + spec.name +
                     "' (ksimg builds only what the lock pins; --allow-unpinned overrides)");
  log::warn(why + "; building it unpinned because of --allow-unpinned");
  return resolve_unpinned(ctx, spec);
}

int64_t epoch_for(const BuildContext& ctx, const Pin& pin) {
  if (ctx.source_date_epoch) return *ctx.source_date_epoch;
  if (pin.epoch) return *pin.epoch;
  if (ctx.lock) return ctx.lock->source_date_epoch;
  std::string env = std::getenv("SOURCE_DATE_EPOCH") ? std::getenv("SOURCE_DATE_EPOCH") : "";
  if (!env.empty()) {
    if (env.size() > 12 || env.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("SOURCE_DATE_EPOCH must be whole seconds since 1970 (got '" + env + "')");
    return std::stoll(env);
  }
  log::warn("no lock and no SOURCE_DATE_EPOCH: file times are clamped to 1970-01-01");
  return 0;
}

}  // namespace

ToolchainLayer build_toolchain_layer(const BuildContext& ctx, const matrix::Recipe& recipe,
                                     const oci::Layout& layout) {
  if (!ctx.transport) throw RuntimeError("build_toolchain_layer: no HTTP transport given");
  auto specs = recipes::load_specs(matrix::data_files(ctx.data_dir));
  auto it = specs.find(recipe.name);
  if (it == specs.end()) throw UsageError("unknown recipe '" + recipe.name + "'; 'ksimg matrix' lists them");
  const recipes::Spec& spec = it->second;
  if (ctx.host_arch != "amd64" && spec.kind != "debian")
    throw UsageError("recipe " + recipe.name + " has no " + ctx.host_arch + "-hosted toolchain (" +
                     recipe.no_arm64 + "); build it for linux/amd64 only");
  recipes::DebianSpec debian =
      spec.kind == "debian" ? spec.debian.for_host(ctx.host_arch, spec.name) : spec.debian;
  Pin pin = pin_for(ctx, spec);
  if (ctx.host_arch != "amd64") {
    pin.entry.packages = pin.entry.packages_for(ctx.host_arch);
    if (pin.entry.packages.empty())
      throw UsageError(ctx.lock_file + " has no " + ctx.host_arch + " pins for recipe " + spec.name +
                       "; run 'ksimg lock --recipe " + spec.name + "'");
  }
  int64_t epoch = epoch_for(ctx, pin);
  ToolchainLayer out =
      spec.kind == "script"   ? detail::build_script(ctx, recipe, spec.script, pin.entry, epoch, layout)
      : spec.kind == "debian" ? detail::build_debian(ctx, recipe, debian, pin.entry, epoch, layout)
                              : detail::build_tarball(ctx, recipe, spec.tarball, pin.entry, epoch, layout);
  out.pinned = pin.pinned;
  out.source_date_epoch = epoch;
  log::info(recipe.name + ": layer " + out.layer.descriptor.digest.str() + " (" +
            std::to_string(out.layer.descriptor.size) + " bytes, " + std::to_string(out.layer.entries) +
            " entries)");
  return out;
}

ClosureReport check_toolchain_closure(const std::vector<std::filesystem::path>& lower,
                                      const oci::Layout& layout, const ToolchainLayer& toolchain,
                                      const std::string& host_arch) {
  ClosureOptions opts;
  opts.host = debian_arch_elf(host_arch);
  opts.target_roots = toolchain.target_roots;
  auto report = check_closure(lower, layout.blob_path(toolchain.layer.descriptor.digest), opts);
  require_closure(report, opts);
  log::info("closure check: " + std::to_string(report.binaries) + " host binaries and libraries, " +
            std::to_string(report.libraries) + " library references, all resolved");
  return report;
}

std::vector<std::filesystem::path> image_layer_blobs(const oci::Layout& layout, const std::string& tag) {
  std::vector<std::filesystem::path> out;
  for (const auto& l : oci::inspect_image(layout, tag).layers)
    out.push_back(layout.blob_path(l.descriptor.digest));
  return out;
}

}  // namespace ksimg::layers
