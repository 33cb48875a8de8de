// The base layer (layers/base.json): the Debian userland with every host tool a kernel build
// needs, shared by every cell image. Built with mmdebstrap from exactly the package versions
// the lock pins, normalised (the definition's `drop` list), written as one canonical layer,
// and cached by the hash of its definition + lock entry + epoch + compression profile.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "recipes/base.hpp"
#include "recipes/lock.hpp"

namespace ksimg::layers {

struct BaseBuild {
  recipes::BaseDefinition def;
  recipes::LockedRecipe locked;  // the lock's "base" entry
  int64_t source_date_epoch = 0;
  oci::Compression compression = oci::Compression::gzip;
  std::filesystem::path cache_root;  // DownloadCache root; built layers are kept here too
  std::string mirror;                // Debian archive root, for mmdebstrap
  std::string keyring;               // for mmdebstrap's signature checks
};

struct BaseLayer {
  oci::LayerResult layer;
  std::vector<std::pair<std::string, std::string>> packages;  // name, version (as pinned)
  bool cached = false;                                        // reused, not rebuilt
  std::string key;                                            // the cache key (hex)
};

// The base layer in `layout`, built or taken from the cache. Throws UsageError when the lock
// has no base entry or the definition changed since it was locked (run `ksimg lock`), and
// IntegrityError when mmdebstrap installed other versions than the lock pins.
BaseLayer build_base_layer(const BaseBuild& b, const oci::Layout& layout);

// Removes what `drop` lists below `root`: a directory is emptied but kept, a file removed.
void apply_drops(const std::filesystem::path& root, const std::vector<recipes::DropPath>& drops);

// name -> version of every installed package in a dpkg status file's text.
std::vector<std::pair<std::string, std::string>> installed_packages(const std::string& status_text);

}  // namespace ksimg::layers
