// Inside the store module only: the libostree handles and GLib error helpers shared by its
// .cpp files, the store's temp dirs (locked by their creator, swept when no live process
// holds them), and byte counting on disk.
#pragma once
#include <ostree.h>

#include <filesystem>
#include <set>
#include <string>
#include <utility>

#include "store/store.hpp"

namespace ksimg::store {

struct Store::Impl {
  fs::path root;
  OstreeRepo* repo = nullptr;
  ~Impl();
};

namespace detail {

// Throws RuntimeError "<what>: <GError message>" unless ok (frees err).
void check(gboolean ok, GError* err, const std::string& what);

// "ksimg/layer/<hex>" for "sha256:<hex>"; UsageError for a malformed diff_id.
std::string layer_ref(const std::string& diff_id);
// The commit the ref points at, or "" when there is no such ref.
std::string resolve(OstreeRepo* repo, const std::string& ref);

// A fresh directory under ROOT/tmp held by this process (flock on a sibling lock file) and
// removed with its contents on destruction unless released (renamed away).
class Scratch {
 public:
  Scratch(const fs::path& store_root, const std::string& kind);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const fs::path& path() const { return dir_; }
  void released() { released_ = true; }

 private:
  fs::path dir_, lock_;
  int fd_ = -1;
  bool released_ = false;
};

// Removes ROOT/tmp entries whose lock no live process holds.
void sweep(const fs::path& store_root);

// Bytes on disk (st_blocks) of the tree at `dir`, each inode counted once; inodes already in
// `seen` are skipped and new ones are added to it.
uint64_t disk_bytes(const fs::path& dir, std::set<std::pair<dev_t, ino_t>>& seen);

}  // namespace detail
}  // namespace ksimg::store
