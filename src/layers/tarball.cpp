// The `tarball` toolchain kind (toolchain.hpp; as kernelsmith's mk-bootlin-toolchain.nix and
// mirror.nix): the SDK comes through the download cache, <tarball mirror>/<basename of the
// first URL> first when a mirror is set, then the recipe's URLs; it is unpacked (one top
// directory, stripped) into scratch space of the layout, relocated by its own relocate-sdk.sh
// to the in-image install_dir, and added below it.
#include "layers/cache.hpp"
#include "layers/toolchain_kinds.hpp"
#include "oci/extract.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers::detail {

namespace fs = std::filesystem;

namespace {

std::string basename_of(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  return u.substr(u.rfind('/') + 1);
}

std::vector<std::string> tarball_urls(const BuildContext& ctx, const recipes::LockedRecipe& locked) {
  std::vector<std::string> urls;
  if (!ctx.tarball_mirror.empty() && !locked.urls.empty()) {
    std::string m = ctx.tarball_mirror;
    while (m.ends_with('/')) m.pop_back();
    urls.push_back(m + "/" + basename_of(locked.urls.front()));
  }
  urls.insert(urls.end(), locked.urls.begin(), locked.urls.end());
  return urls;
}

}  // namespace

oci::LayerOptions layer_options(const BuildContext& ctx, int64_t epoch, const oci::Layout& layout,
                                const std::string& progress_label) {
  oci::LayerOptions lo;
  lo.source_date_epoch = epoch;
  lo.compression = ctx.compression;
  lo.spool_dir = layout.temp_dir();
  lo.progress_label = progress_label;
  return lo;
}

ToolchainLayer build_tarball(const BuildContext& ctx, const matrix::Recipe& recipe,
                             const recipes::TarballSpec& spec, const recipes::LockedRecipe& locked,
                             int64_t epoch, const oci::Layout& layout) {
  if (spec.install_dir.empty() || spec.install_dir[0] != '/')
    throw UsageError("recipe " + recipe.name + " has no absolute install_dir; fix recipes/" + recipe.name +
                     ".json");
  DownloadCache cache(ctx.cache_root);
  cache.mirror = ctx.source_mirror.get();
  auto got =
      cache.fetch(*ctx.transport, tarball_urls(ctx, locked), locked.sha256, std::nullopt, ctx.verify_cache);
  log::info(recipe.name + ": " + (got.hit ? "cached " : "downloaded ") + got.file.string());
  fs::create_directories(layout.temp_dir());
  TempDir work("toolchain-sdk", layout.temp_dir());
  // The SDK is staged at <root>/<install_dir>, so the layer lists install_dir and its parents.
  fs::path root = work / "root", staging = root / spec.install_dir.substr(1);
  fs::create_directories(staging);
  auto ex = oci::extract_archive(got.file, staging,
                                 {.strip_top_dir = true, .progress_label = "unpack " + recipe.name});
  log::debug(recipe.name + ": unpacked " + std::to_string(ex.entries) + " entries of " + ex.top_dir + "/");
  relocate_sdk(staging, spec.install_dir, spec.relocate.empty() ? "relocate-sdk.sh" : spec.relocate);
  normalise_parents(root, staging, epoch);
  oci::LayerWriter w(layer_options(ctx, epoch, layout, "write " + recipe.name + " layer"));
  w.add_directory(root);
  ToolchainLayer out;
  out.layer = w.write(layout);
  out.cross_compile = recipe.triple + "-";
  out.path_dirs = {spec.install_dir + "/bin"};
  out.packages = {basename_of(locked.urls.empty() ? spec.install_dir : locked.urls.front()) +
                  "=sha256:" + locked.sha256};
  out.source = spec.release.empty() ? "tarball" : spec.release;
  std::string t = spec.install_dir + "/" + recipe.triple;
  out.target_roots = {t + "/sysroot", t + "/lib", t + "/lib64", t + "/lib32"};
  return out;
}

}  // namespace ksimg::layers::detail
