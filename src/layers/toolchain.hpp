// Toolchain layers (design.md "Toolchain sources"): a cell's recipe turned into one
// canonical layer from the lock's pins only. Kinds:
//  - debian: each locked .deb from <mirror>/<pool path> through the download cache, its
//    data.tar.* streamed into the layer; /var/lib/dpkg/status.d/<pkg> (+ .md5sums) for image
//    scanners; /usr/bin/<triple>-<tool> -> <triple>-<tool>-<N> links for CROSS_COMPILE;
//  - tarball: the SDK through the cache (mirror first), unpacked without its top directory,
//    relocated by its own relocate-sdk.sh to <install_dir>, added under <install_dir>.
//  - script: built from its pinned source tarballs in the base image with podman (script.hpp).
// The closure check runs separately (check_toolchain_closure), once the layers below are known.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/transport.hpp"
#include "layers/closure.hpp"
#include "matrix/data.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "recipes/lock.hpp"

namespace ksimg::layers {

class SourceMirror;  // cache.hpp

struct BuildContext {
  std::string data_dir;                       // matrix/ + recipes/ ("" = the built-in copy)
  std::optional<recipes::Lock> lock;          // the lock file's content; nullopt when there is none
  std::string lock_file = "ksimg.lock.json";  // named in messages
  std::filesystem::path cache_root;           // DownloadCache root (default_cache_root())
  std::string debian_mirror;                  // --debian-mirror / KSIMG_DEBIAN_MIRROR; "" = apt sources
  std::string tarball_mirror;                 // --tarball-mirror / KSIMG_TARBALL_MIRROR; "" = none
  std::string keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";  // --allow-unpinned debian
  bool allow_unpinned = false;               // build a recipe the lock does not pin (from the recipe as is)
  bool verify_cache = false;                 // re-hash cached downloads before use
  std::optional<int64_t> source_date_epoch;  // default: the lock's
  oci::Compression compression = oci::Compression::gzip;
  http::Transport* transport = nullptr;         // required
  std::shared_ptr<SourceMirror> source_mirror;  // --source-mirror: tried before any URL; null = none
};

struct ToolchainLayer {
  oci::LayerResult layer;     // the blob, already in the layout
  std::string cross_compile;  // CROSS_COMPILE: "<triple>-"
  std::vector<std::string>
      path_dirs;  // to put first in PATH ("/opt/toolchains/x/bin"); debian: install_dir/bin or none
  std::vector<std::string> packages;  // for labels: "name=version" (debian), "<file>=sha256:<hex>" (tarball)
  std::string source;                 // "debian bullseye", "bootlin 2020.08-1"
  std::vector<std::string> target_roots;  // in-image dirs of target code (closure check skips them)
  int64_t source_date_epoch = 0;          // the mtime clamp the layer was written with
  bool pinned = true;                     // false: built with --allow-unpinned from an unpinned recipe
};

// Builds the recipe's toolchain layer into `layout`. UsageError when the lock does not pin
// the recipe (missing, pending, or recipe_sha256 stale: run `ksimg lock --recipe NAME`) unless
// allow_unpinned; IntegrityError for a download whose sha256 or size does not match, or a
// hostile archive; RuntimeError when a download or the relocation fails.
ToolchainLayer build_toolchain_layer(const BuildContext& ctx, const matrix::Recipe& recipe,
                                     const oci::Layout& layout);

// Checks that every host ELF file of the toolchain layer (a blob of `layout`) finds its
// interpreter and libraries in `lower` (layer blobs, bottom first) plus itself; throws
// RuntimeError naming each missing library and the binaries that need it.
ClosureReport check_toolchain_closure(const std::vector<std::filesystem::path>& lower,
                                      const oci::Layout& layout, const ToolchainLayer& toolchain);

// The layer blobs of image `tag` in `layout`, bottom first (for check_toolchain_closure).
std::vector<std::filesystem::path> image_layer_blobs(const oci::Layout& layout, const std::string& tag);

}  // namespace ksimg::layers
