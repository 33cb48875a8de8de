// Toolchain layers: a cell's recipe turned into one
// canonical layer from the lock's pins only. Kinds:
//  - debian: each locked .deb from <mirror>/<pool path> through the download cache, its
//    data.tar.* streamed into the layer; /var/lib/dpkg/status.d/<pkg> (+ .md5sums) for image
//    scanners; /usr/bin/<triple>-<tool> -> <triple>-<tool>-<N> links for CROSS_COMPILE;
//  - tarball: the SDK through the cache (mirror first), unpacked without its top directory,
//    relocated by its own relocate-sdk.sh to <install_dir>, added under <install_dir>.
//  - script: built from its pinned source tarballs in the base image with podman (script.hpp).
// The closure check runs separately (check_toolchain_closure), once the layers below are known.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "layers/build_context.hpp"
#include "layers/closure.hpp"
#include "matrix/data.hpp"
#include "oci/layout.hpp"

namespace ksimg::layers {

// Builds the recipe's toolchain layer into `layout`. UsageError when the lock does not pin
// the recipe (missing, pending, or recipe_sha256 stale: run `ksimg lock --recipe NAME`) unless
// allow_unpinned; IntegrityError for a download whose sha256 or size does not match, or a
// hostile archive; RuntimeError when a download or the relocation fails.
ToolchainLayer build_toolchain_layer(const BuildContext& ctx, const matrix::Recipe& recipe,
                                     const oci::Layout& layout);

// Checks that every host ELF file of the toolchain layer (a blob of `layout`) finds its
// interpreter and libraries in `lower` (layer blobs, bottom first) plus itself; throws
// RuntimeError naming each missing library and the binaries that need it.
// `host_arch`: the Debian architecture whose ELF files are host code ("amd64", "arm64").
ClosureReport check_toolchain_closure(const std::vector<std::filesystem::path>& lower,
                                      const oci::Layout& layout, const ToolchainLayer& toolchain,
                                      const std::string& host_arch = "amd64");

// The layer blobs of image `tag` in `layout`, bottom first (for check_toolchain_closure).
std::vector<std::filesystem::path> image_layer_blobs(const oci::Layout& layout, const std::string& tag);

}  // namespace ksimg::layers
