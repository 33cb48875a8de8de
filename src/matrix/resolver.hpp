// The resolver: kernel version + arch (+ optional toolchain source) -> era, cell, image tag,
// recipe, and the reasons (which band matched, which exception applied). The bands, cells
// and exceptions are data: matrix/eras.json, cells.json, exceptions.json (matrix/README.md).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "matrix/data.hpp"

namespace ksimg::matrix {

struct AppliedException {
  std::string id, reason, evidence;
  std::string from_cell, to_cell;  // "k4/x86_64" -> "k3/x86_64"
  std::string violated;            // what the first choice failed: "binutils 2.35.2 >= 2.31"
};

struct Resolution {
  Version version;
  std::string arch;
  const Era* era = nullptr;    // the era the version's band names
  std::string band;            // "3.0 <= 3.18.140 < 4.0"
  const Cell* cell = nullptr;  // the cell that builds it (after exceptions)
  const Recipe* recipe = nullptr;
  std::string image_tag;  // "k3-mipsel" (a non-default source adds "-<source>")
  std::optional<AppliedException> exception;
  std::vector<std::string> why;  // human-readable reasons, in order
};

// A cell named directly (`--cell k4/mipsel`): its recipe (the cell's default, or the one of
// toolchain `source`) and its image tag.
struct CellChoice {
  const Cell* cell = nullptr;
  const Recipe* recipe = nullptr;
  std::string image_tag;
};

// Whether `r` meets `req`; on failure `violated` says how ("binutils 2.35.2 is not below 2.31").
bool satisfies(const Recipe& r, const Requirement& req, std::string* violated);

// The era whose band holds `v`.
const Era& era_for(const Matrix& m, const Version& v);

// Resolves; throws UsageError for an unknown arch or source, an unsupported cell, or a
// version older than the arch's first kernel, naming the valid choices.
Resolution resolve(const Matrix& m, const Version& v, const std::string& arch,
                   const std::optional<std::string>& source = std::nullopt);

// The cell `key` (ERA/ARCH) with the recipe of `source` (default: the cell's own); UsageError
// for an unknown or unsupported cell or a source the cell lacks, naming the valid choices.
CellChoice resolve_cell(const Matrix& m, const std::string& key,
                        const std::optional<std::string>& source = std::nullopt);

// The image tag of (cell, recipe): "k4-mipsel", and "-<source>" added for a recipe other than
// the cell's default ("k4-mipsel-bootlin"). resolve() and resolve_cell() both use it.
std::string image_tag(const Cell& c, const Recipe& r);

// The kernels a cell's image builds with `recipe`, as text: its band, and the exceptions
// that move kernels out of it or into it ("4.0 <= v < 6.0; except 4.0 <= v < 4.16 -> k3/x86_64 (...)").
std::string cell_kernel_range(const Matrix& m, const Cell& cell, const Recipe& recipe);

// "armel, armhf, ..." in data order.
std::string arch_list(const Matrix& m);

}  // namespace ksimg::matrix
