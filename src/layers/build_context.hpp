// What every toolchain builder shares: the build context (lock, cache, mirrors, compression)
// and the toolchain layer it produces. Its own header so that the per-kind builders
// (toolchain_kinds.hpp, script.hpp) need only these types, not the dispatcher in toolchain.hpp.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/transport.hpp"
#include "oci/layer.hpp"
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
  // The Debian architecture of the host platform the image is for: "amd64" (the lock's
  // "packages") or "arm64" (its hosts.arm64; debian recipes only).
  std::string host_arch = "amd64";
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

}  // namespace ksimg::layers
