// Cell image assembly (see cell_build.hpp): the order is base, toolchain, closure check,
// launcher, image; the tag is set last, so a failure never leaves a tag pointing at a
// partial image (the layout's blobs are content-addressed and harmless if unused).
#include "layers/cell_build.hpp"

#include "layers/cell_image.hpp"
#include "layers/cell_inputs.hpp"
#include "layers/launcher.hpp"
#include "matrix/resolver.hpp"
#include "recipes/apt_sources.hpp"
#include "recipes/base.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::layers {

static BaseBuild base_build(const CellBuild& b, int64_t epoch) {
  auto def = recipes::load_base(matrix::data_files(b.ctx.data_dir));
  if (!def) throw DataError("layers/base.json is missing from the data; the base layer cannot be built");
  if (!b.ctx.lock || !b.ctx.lock->recipes.count(recipes::kBaseName))
    throw UsageError(b.ctx.lock_file +
                     " does not pin the base layer; run 'ksimg lock' (or 'ksimg lock --recipe base')");
  recipes::LockedRecipe locked = b.ctx.lock->recipes.at(recipes::kBaseName);
  if (b.ctx.host_arch != def->architecture) {
    locked.packages = locked.packages_for(b.ctx.host_arch);
    if (locked.packages.empty())
      throw UsageError(b.ctx.lock_file + " has no " + b.ctx.host_arch +
                       " pins for the base layer; run 'ksimg lock --recipe base'");
    def->architecture = b.ctx.host_arch;
  }
  BaseBuild bb{*def,
               locked,
               epoch,
               b.ctx.compression,
               b.ctx.cache_root,
               recipes::discover_debian_mirror(b.ctx.debian_mirror),
               b.ctx.keyring};
  return bb;
}

static int64_t epoch_of(const CellBuild& b) {
  if (b.ctx.source_date_epoch) return *b.ctx.source_date_epoch;
  if (!b.ctx.lock) throw UsageError("no lock file " + b.ctx.lock_file + "; run 'ksimg lock' first");
  return b.ctx.lock->source_date_epoch;
}

CellImage build_cell_image(const CellBuild& b, const oci::Layout& layout) {
  const auto& m = matrix::get(b.ctx.data_dir);
  CellImage out;
  auto choice = matrix::resolve_cell(m, b.cell, b.source);
  out.cell = choice.cell;
  out.recipe = choice.recipe;
  out.tag = choice.image_tag;
  int64_t epoch = epoch_of(b);
  log::info(out.tag + ": base layer (linux/" + b.ctx.host_arch + ")");
  out.base = build_base_layer(base_build(b, epoch), layout);
  log::info(out.tag + ": toolchain layer (" + out.recipe->name + ")");
  out.toolchain = build_toolchain_layer(b.ctx, *out.recipe, layout);
  out.closure = check_toolchain_closure({layout.blob_path(out.base.layer.descriptor.digest)}, layout,
                                        out.toolchain, b.ctx.host_arch);
  log::info(out.tag + ": closure check passed (" + std::to_string(out.closure.binaries) + " binaries, " +
            std::to_string(out.closure.libraries) + " libraries)");
  out.launcher =
      build_launcher_layer(b.kbuild, matrix::data_files(b.ctx.data_dir), epoch, b.ctx.compression, layout);
  CellImageFacts f{&m,
                   out.cell,
                   out.recipe,
                   out.tag,
                   out.toolchain.path_dirs,
                   out.toolchain.cross_compile,
                   out.recipe->gcc,
                   out.recipe->binutils.value_or(""),
                   epoch,
                   b.revision,
                   b.ctx.lock ? cell_inputs_sha256(*b.ctx.lock, out.recipe->name, epoch, out.launcher.diff_id,
                                                   b.ctx.compression, b.ctx.host_arch)
                              : "",
                   b.ctx.host_arch};
  out.image =
      oci::assemble_image(layout, cell_image_spec(f), {out.base.layer, out.toolchain.layer, out.launcher});
  if (b.tag) layout.set_tag(out.tag, out.image.manifest);
  log::info(out.tag + ": linux/" + b.ctx.host_arch + " image " + out.image.manifest.digest.str());
  return out;
}

}  // namespace ksimg::layers
