// `ksimg toolchain-layer`: builds one recipe's toolchain layer from the lock (layers module:
// build_toolchain_layer), optionally checks its ELF closure against a base image, and tags an
// image holding just that layer in an OCI layout; prints the layer digest. A low-level
// command for testing and debugging toolchains; `ksimg build` assembles whole cell images.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "layers/cache.hpp"
#include "layers/toolchain.hpp"
#include "matrix/data.hpp"
#include "oci/image.hpp"
#include "recipes/lock.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct ToolchainOpts {
  std::string recipe, layout, tag, base;
  bool json = false;
  BuildOpts build;
};

// "LAYOUT:TAG" -> the layer blobs of that image, bottom first.
std::vector<std::filesystem::path> base_blobs(const std::string& arg) {
  auto colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == arg.size())
    throw UsageError("--base-layout '" + arg + "': expected LAYOUT:TAG, e.g. out/oci:base");
  auto base = oci::Layout::open(arg.substr(0, colon));
  return layers::image_layer_blobs(base, arg.substr(colon + 1));
}

oci::ImageSpec image_spec(const ToolchainOpts& o, const layers::ToolchainLayer& tl) {
  oci::ImageSpec spec;
  std::string path;
  for (const auto& d : tl.path_dirs) path += d + ":";
  spec.env = {"PATH=" + path + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "CROSS_COMPILE=" + tl.cross_compile};
  spec.labels = {{"ksimg.toolchain.recipe", o.recipe}, {"ksimg.toolchain.source", tl.source}};
  spec.created = tl.source_date_epoch;
  spec.created_by = {"ksimg toolchain-layer --recipe " + o.recipe};
  return spec;
}

void print(const ToolchainOpts& o, const layers::ToolchainLayer& tl, const oci::BuiltImage& img,
           const std::optional<layers::ClosureReport>& closure) {
  if (!o.json) {
    std::cout << tl.layer.descriptor.digest.str() << "\n";
    return;
  }
  nlohmann::ordered_json j{{"recipe", o.recipe},
                           {"layer", tl.layer.descriptor.digest.str()},
                           {"diff_id", tl.layer.diff_id.str()},
                           {"size", tl.layer.descriptor.size},
                           {"entries", tl.layer.entries},
                           {"manifest", img.manifest.digest.str()},
                           {"cross_compile", tl.cross_compile},
                           {"path_dirs", tl.path_dirs},
                           {"packages", tl.packages},
                           {"source", tl.source},
                           {"pinned", tl.pinned},
                           {"source_date_epoch", tl.source_date_epoch}};
  j["closure"] =
      closure ? nlohmann::ordered_json{{"binaries", closure->binaries}, {"libraries", closure->libraries}}
              : nlohmann::ordered_json(nullptr);
  std::cout << j.dump(2) << "\n";
}

void run(const ToolchainOpts& o) {
  oci::validate_tag(o.tag);
  const auto& m = matrix::get(global().data_dir);
  if (!m.recipes.count(o.recipe))
    throw UsageError("unknown recipe '" + o.recipe + "'; 'ksimg matrix' lists the recipes of each cell");
  const auto& recipe = m.recipe(o.recipe);
  auto transport = http::make_transport();
  layers::BuildContext ctx = build_context(o.build, *transport);
  auto lower = o.base.empty() ? std::vector<std::filesystem::path>{} : base_blobs(o.base);
  auto layout = oci::Layout::create(o.layout);
  auto tl = layers::build_toolchain_layer(ctx, recipe, layout);
  std::optional<layers::ClosureReport> closure;
  if (!o.base.empty())
    closure = layers::check_toolchain_closure(lower, layout, tl);
  else
    log::info("closure check skipped: no --base-layout to check against");
  auto img = oci::assemble_image(layout, image_spec(o, tl), {tl.layer});
  layout.set_tag(o.tag, img.manifest);
  print(o, tl, img, closure);
}

}  // namespace

void add_toolchain_layer(CLI::App& app) {
  auto o = std::make_shared<ToolchainOpts>();
  auto* sub = app.add_subcommand("toolchain-layer",
                                 "Build one recipe's toolchain layer from the lock into an OCI layout "
                                 "(an image with just that layer) and print the layer digest");
  sub->add_option("--recipe", o->recipe, "Recipe to build (a file name under recipes/, without .json)")
      ->required();
  sub->add_option("--layout", o->layout, "OCI image layout directory (created when missing)")->required();
  sub->add_option("--tag", o->tag, "Tag for the one-layer image in the layout")->required();
  add_build_options(sub, o->build);
  sub->add_option(
      "--base-layout", o->base,
      "LAYOUT:TAG of the image the toolchain goes on; its layers are used for the ELF closure check");
  sub->add_flag("--json", o->json,
                "Print the result (digests, CROSS_COMPILE, PATH, packages, closure) as JSON");
  sub->footer(
      "Downloads are verified against the lock's sha256 and kept in the cache by digest.\n"
      "Exit codes: 2 recipe not pinned (run 'ksimg lock --recipe NAME'), 3 a download does not match\n"
      "its sha256, 1 network failure or a library missing in the closure check.\n\n"
      "Examples:\n"
      "  ksimg lock --cell k4/mipsel\n"
      "  ksimg toolchain-layer --recipe debian-bullseye-gcc10-mipsel --layout out/oci --tag tc-k4-mipsel\n"
      "  ksimg toolchain-layer --recipe bootlin-2020.08-1-mipsel --layout out/oci --tag tc \\\n"
      "      --tarball-mirror https://mirror.example.org/toolchains --base-layout out/oci:base");
  sub->callback([o] { run(*o); });
}

}  // namespace ksimg::cli
