// The SBOM of a cell image for `ksimg sbom` and `ksimg push` (cmd_sbom.cpp): built from the lock
// (layers/sbom.hpp), with the image's digest and launcher from the layout when it holds the
// image, after checking that the layout's image was built from this lock (its inputs label).
// A multi-platform image has one SBOM per platform: each lists that platform's packages.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/build_options.hpp"

namespace ksimg::cli {

// The SBOM of the cell's linux/<host_arch> image. UsageError when the lock is missing or does
// not pin the cell for that host, or when the layout's image of the cell was built from other
// inputs.
nlohmann::ordered_json cell_sbom(const BuildOpts& b, const std::string& layout_dir, const std::string& cell,
                                 const std::optional<std::string>& source,
                                 const std::string& host_arch = "amd64");

}  // namespace ksimg::cli
