// The launcher layer: the static `kbuild` program at /usr/local/bin/kbuild plus the data it
// was built from under /usr/share/ksimg (matrix/, recipes/, layers/). Kept apart from the
// toolchain so that a launcher change never re-uploads a toolchain.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "matrix/data.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"

namespace ksimg::layers {

// The kbuild binary to ship: KSIMG_KBUILD when set, else `kbuild` next to the running ksimg.
// Throws RuntimeError saying how to get one.
std::filesystem::path find_kbuild();

// The kbuild binary for images of host architecture `arch`: find_kbuild() for the one ksimg
// runs on (amd64 here); for arm64, KSIMG_KBUILD_ARM64 when set, else `kbuild-arm64` next to
// ksimg (`cmake --build BUILD --target kbuild-arm64`). RuntimeError saying how to get one, or
// when the file is not an ELF executable for `arch`.
std::filesystem::path find_kbuild_for(const std::string& arch);

oci::LayerResult build_launcher_layer(const std::filesystem::path& kbuild, const matrix::DataFiles& data,
                                      int64_t source_date_epoch, oci::Compression compression,
                                      const oci::Layout& layout);

// The diff_id that layer would have (nothing is written). A cell image whose last layer has
// another diff_id carries another kbuild or other data than `kbuild` and `data`.
oci::Digest launcher_diff_id(const std::filesystem::path& kbuild, const matrix::DataFiles& data,
                             int64_t source_date_epoch);

}  // namespace ksimg::layers
