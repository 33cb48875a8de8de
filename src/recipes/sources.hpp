// The pinned sources cells need (`ksimg mirror`, docs/mirror.md): every tarball recipe's
// tarball and every script recipe's inputs, with their URLs and pins, as the recipes state
// them. Debian recipes are not listed: their packages come from a Debian mirror.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "recipes/spec.hpp"

namespace ksimg::recipes {

struct PinnedSource {
  std::string name;                  // file name: the tarball URL's basename, or the input's name
  std::vector<std::string> urls;     // upstream, tried in order
  std::string sha256;                // hex; empty for a tree pin
  std::string nar_sha256;            // "sha256-<base64>", or empty
  std::vector<std::string> recipes;  // the recipes that need it
};

// The sources of `recipes` (names in `specs`), each once (by pin), in name order.
std::vector<PinnedSource> pinned_sources(const std::map<std::string, Spec>& specs,
                                         const std::vector<std::string>& recipes);

// The recipes of each cell ("k4/mipsel": its recipe and alternative sources), each once.
// UsageError for an unknown or unsupported cell.
std::vector<std::string> cells_recipes(const std::string& data_dir, const std::vector<std::string>& cells);

}  // namespace ksimg::recipes
