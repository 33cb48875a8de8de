// The tree store: a libostree repository (mode bare-user-only: works unprivileged, keeps no
// ownership, setuid bits or xattrs) where each OCI layer is one commit under the ref
// `ksimg/layer/<diff_id hex>`, and each image is a hardlink checkout of its layers laid over
// each other (OCI whiteouts and opaque dirs applied), cached under images/<manifest hex>/root.
// GLib stays inside this module: the interface speaks std:: only.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ksimg::store {

namespace fs = std::filesystem;

// $KSIMG_STORE, else $XDG_DATA_HOME/ksimg/store, else ~/.local/share/ksimg/store.
fs::path default_root();

struct LayerEntry {
  std::string diff_id;  // "sha256:<hex>"
  std::string commit;   // the OSTree commit checksum
};

struct ImageEntry {
  std::string digest;                 // manifest digest "sha256:<hex>"
  std::string tag;                    // the tag it was checked out for (informational)
  std::vector<std::string> diff_ids;  // its layers, bottom first
  fs::path root;                      // the checkout
};

struct Usage {
  uint64_t objects = 0;      // bytes on disk of the repo (objects, each inode once)
  uint64_t checkouts = 0;    // bytes on disk of image checkouts not shared with the repo
  uint64_t layer_bytes = 0;  // sum of the imported layers' uncompressed sizes (their tar bytes)
};

struct GcResult {
  size_t images_removed = 0, layers_removed = 0;
  uint64_t bytes_freed = 0;
};

class Store {
 public:
  // Opens the store at `root`, creating it (and its bare-user-only repo) when missing, and
  // removes temp dirs left by killed processes (none a live process holds).
  static Store open(const fs::path& root);
  ~Store();
  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;

  const fs::path& root() const;
  bool has_layer(const std::string& diff_id) const;
  // Imports the layer blob `blob` (tar, any compression) unless `diff_id` is already there.
  // Hostile members (absolute names, "..", links leaving the tree, device nodes) are an
  // IntegrityError; setuid/setgid bits and ownership are dropped. Atomic: a killed import
  // leaves nothing the next one sees. `tar_bytes` (uncompressed size) is recorded for du.
  std::string import_layer(const fs::path& blob, const std::string& diff_id, uint64_t tar_bytes = 0);
  // The checkout of image `digest`: its layers (imported before) in order, each laid over the
  // ones below by hardlinks; a directory of an upper layer replaces a lower symlink or file
  // (never followed). Cached: a second call returns the same root at once.
  fs::path checkout(const std::string& digest, const std::string& tag,
                    const std::vector<std::string>& diff_ids);

  std::vector<LayerEntry> layers() const;
  std::vector<ImageEntry> images() const;
  Usage usage() const;
  // Removes image checkouts whose digest is not in `keep`, then the layers no kept image uses,
  // then unreferenced objects.
  GcResult gc(const std::set<std::string>& keep);
  // Verifies every object's checksum and every layer ref; returns the problems (none: ok).
  std::vector<std::string> fsck() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ksimg::store
