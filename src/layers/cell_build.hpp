// Assembles a whole cell image: base layer + the cell's toolchain layer + the
// launcher layer, the ELF closure check of the toolchain against the base, the image config
// (cell_image.hpp), and the tag in the layout. Everything comes from the lock.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "layers/base_layer.hpp"
#include "layers/closure.hpp"
#include "layers/toolchain.hpp"
#include "oci/image.hpp"

namespace ksimg::layers {

struct CellBuild {
  BuildContext ctx;                   // lock, cache, mirrors, compression, transport, data
  std::string cell;                   // "k4/mipsel"
  std::optional<std::string> source;  // debian | bootlin | script; default: the cell's
  std::filesystem::path kbuild;       // the static kbuild binary for the launcher layer (for ctx.host_arch)
  std::string revision;               // org.opencontainers.image.revision (optional)
  bool tag = true;                    // tag the manifest in the layout (false: an index will point at it)
};

struct CellImage {
  std::string tag;  // "k4-mipsel" (a non-default source adds "-<source>")
  const matrix::Cell* cell = nullptr;
  const matrix::Recipe* recipe = nullptr;
  BaseLayer base;
  ToolchainLayer toolchain;
  oci::LayerResult launcher;
  ClosureReport closure;
  oci::BuiltImage image;
};

// Builds (or reuses cached layers of) the cell image for the host platform linux/<ctx.host_arch>
// and tags it in `layout` (unless b.tag is false). Throws
// UsageError when the lock lacks what the cell needs, IntegrityError/RuntimeError from the
// layers, RuntimeError naming library and binary when the closure check fails.
CellImage build_cell_image(const CellBuild& b, const oci::Layout& layout);

}  // namespace ksimg::layers
