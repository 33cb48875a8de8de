// Unpacking an archive onto disk safely (a toolchain SDK that must be relocated in place
// before it becomes a layer). libarchive stays in oci. Hostile members are refused rather
// than sanitised: absolute names, "..", writes through a symlink, hardlinks leaving the
// tree, device nodes.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>

namespace ksimg::oci {

struct ExtractOptions {
  // Require every member to lie below one top-level directory (Bootlin SDKs, source
  // tarballs) and strip it: its contents land directly in `dest`.
  bool strip_top_dir = false;
  // When set, shows "<label>" with compressed bytes read against the archive's size on a
  // terminal (util/progress.hpp).
  std::string progress_label;
  // Skip device nodes (logged) instead of refusing the archive: an image layer's /dev entries,
  // which a runtime replaces with its own /dev anyway (the tree store).
  bool skip_devices = false;
};

struct ExtractResult {
  std::string top_dir;  // the stripped directory's name (strip_top_dir only)
  size_t entries = 0;   // members written
};

// Extracts `archive` (tar in any compression libarchive reads) into the existing directory
// `dest`. Permissions are kept except setuid/setgid; owners are not restored; mtimes are.
// Throws IntegrityError naming the archive and member for a hostile or corrupt member (or a
// second top-level entry with strip_top_dir), RuntimeError for disk errors.
ExtractResult extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                              const ExtractOptions& opts = {});

}  // namespace ksimg::oci
