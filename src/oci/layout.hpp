// An OCI image layout on disk (image-spec image-layout.md): `oci-layout`, `index.json` with one
// manifest descriptor per tag (annotation org.opencontainers.image.ref.name), `blobs/sha256/`.
// Every file is written atomically (temp file, fsync, rename, directory fsync); blobs are
// content-addressed and never rewritten; index.json is updated under a file lock
// (`index.json.lock`) so concurrent ksimg processes cannot lose each other's tags.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/digest.hpp"
#include "util/files.hpp"

namespace ksimg::oci {

// Throws UsageError unless `tag` matches [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} (distribution-spec).
void validate_tag(std::string_view tag);

class Layout {
 public:
  // Opens the layout at `root`, creating what is missing (directories, oci-layout, an empty
  // index.json). Throws UsageError when `root` holds other files but no oci-layout.
  static Layout create(const std::filesystem::path& root);
  // Opens an existing layout; UsageError when `root` is not one.
  static Layout open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path blob_path(const Digest& d) const;
  // Scratch space inside the layout (same filesystem as blobs/, so renames are atomic).
  std::filesystem::path temp_dir() const;

  // True when the blob is present with this size (and, if verify_existing, these bytes);
  // false when absent. A present blob that does not match is an IntegrityError.
  bool has_blob(const Digest& d, int64_t size) const;
  // Stores `bytes` as a blob unless an intact copy is already there.
  Descriptor put_blob(std::string_view bytes, std::string_view media_type) const;
  // A temp file inside the layout for streaming a blob whose digest is not known yet.
  std::unique_ptr<files::AtomicFile> begin_blob() const;
  // Moves a finished temp file to blobs/sha256/<hex>, or discards it when the blob exists.
  void commit_blob(files::AtomicFile& tmp, const Digest& d, int64_t size) const;
  // Reads a blob of at most `max_size` bytes and checks its size and digest (IntegrityError).
  std::string read_blob(const Descriptor& d, size_t max_size = 4 << 20) const;

  nlohmann::json read_index() const;
  std::vector<Descriptor> manifests() const;
  // Tags in index.json order (descriptors without a ref.name are not listed).
  std::vector<std::string> tags() const;
  std::optional<Descriptor> find_tag(std::string_view tag) const;
  // Points `tag` at `manifest` (replacing the tag's previous entry) under the layout lock;
  // index.json is rewritten atomically with entries sorted by tag.
  void set_tag(std::string_view tag, Descriptor manifest) const;

  // Re-hash a blob that is already present before trusting it (default on).
  bool verify_existing = true;

 private:
  explicit Layout(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace ksimg::oci
