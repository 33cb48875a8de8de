// Consistency check of an OCI image layout (`ksimg image check`): what a crash, a full disk
// or a concurrent writer could have broken. Follows image-spec image-layout.md (oci-layout,
// index.json, blobs/<alg>/<encoded> whose bytes MUST match) and manifest.md / image-index.md
// (every referenced descriptor must resolve to a present blob of that size and digest).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "oci/layout.hpp"

namespace ksimg::oci {

struct LayoutCheck {
  size_t tags = 0;                      // descriptors in index.json with a ref.name
  size_t manifests = 0;                 // manifests and nested indexes reached from index.json
  size_t blobs = 0;                     // files in blobs/sha256/ whose bytes were hashed
  size_t referenced = 0;                // distinct blobs referenced from index.json (directly or not)
  size_t unreferenced = 0;              // blobs nothing references (harmless: left by a failed build)
  std::vector<std::string> temp_files;  // leftover temp files (a killed writer), relative to root
  std::vector<std::string> problems;    // one line each; empty when the layout is sound

  bool ok() const { return problems.empty(); }
};

// Reads index.json, follows every manifest (and nested index) to its config and layers, and
// hashes every blob in blobs/sha256/. Never throws for what it finds (it is listed in
// `problems`); throws only when `root` is not a layout at all (UsageError).
LayoutCheck check_layout(const Layout& layout);

}  // namespace ksimg::oci
