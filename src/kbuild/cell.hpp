// Which cell this kbuild serves (from the image's Env: KSIMG_ERA, KSIMG_ARCH, KSIMG_RECIPE),
// and whether a kernel version belongs to it.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "matrix/resolver.hpp"

namespace ksimg::kbuild {

struct CellIdentity {
  const matrix::Cell* cell = nullptr;
  const matrix::Recipe* recipe = nullptr;
  std::string image_tag;  // "k4-mipsel" or "k4-mipsel-bootlin"
};

// Reads KSIMG_ERA / KSIMG_ARCH / KSIMG_RECIPE from `env`; throws UsageError naming the
// missing variable (kbuild outside a ksimg image) or an unknown cell/recipe.
CellIdentity identify(const matrix::Matrix& m, const std::map<std::string, std::string>& env);

// The process environment as a map.
std::map<std::string, std::string> process_env();

// The kernels this cell builds, as text: its band, and the exceptions that move kernels in
// or out ("4.0 <= v < 6.0; x86_64 < 4.16 -> k3/x86_64").
std::string supported_range(const matrix::Matrix& m, const CellIdentity& id);

// Resolves `v` for this cell's arch and source: returns nullopt when this image builds it,
// else the image tag to use instead.
std::optional<std::string> other_image_for(const matrix::Matrix& m, const CellIdentity& id,
                                           const matrix::Version& v);

}  // namespace ksimg::kbuild
