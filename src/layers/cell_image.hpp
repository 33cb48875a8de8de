// The image config of a cell image: Env ARCH, CROSS_COMPILE,
// KSIMG_ERA, KSIMG_ARCH, KSIMG_RECIPE, PATH; Cmd ["kbuild","--help"]; labels and annotations
// with the cell's facts.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "matrix/data.hpp"
#include "oci/image.hpp"

namespace ksimg::layers {

struct CellImageFacts {
  const matrix::Matrix* matrix = nullptr;
  const matrix::Cell* cell = nullptr;
  const matrix::Recipe* recipe = nullptr;
  std::string image_tag;                      // "k4-mipsel"
  std::vector<std::string> path_dirs;         // toolchain dirs put before the system PATH
  std::string cross_compile;                  // "mipsel-linux-gnu-"
  std::string gcc_version, binutils_version;  // as shipped (e.g. Debian package versions)
  int64_t source_date_epoch = 0;
  std::string revision;             // org.opencontainers.image.revision, when known
  std::string inputs_sha256 = {};   // org.kernelsmith.inputs-sha256 (cell_inputs_sha256), when known
  std::string host_arch = "amd64";  // the image's platform: linux/<host_arch>
};

// The label holding the hash of everything a cell image is built from; push names the
// immutable tag after it.
inline constexpr const char* kInputsLabel = "org.kernelsmith.inputs-sha256";

// "org.kernelsmith.*" label names are documented in README ("Cell images").
oci::ImageSpec cell_image_spec(const CellImageFacts& f);

}  // namespace ksimg::layers
