// Cross-file checks on the loaded data: every era x arch has a cell, cells name recipes
// that exist and fit, exceptions point at cells that fix what they guard against.
#include <set>

#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "util/error.hpp"

namespace ksimg::matrix {

// The twelve arches ksimg promises (README); the data must define each of them.
static const char* const kRequiredArches[] = {"armel",       "armhf",    "arm64",   "mipseb",    "mipsel",
                                              "mips64eb",    "mips64el", "powerpc", "powerpcle", "powerpc64",
                                              "powerpc64le", "riscv64",  "x86_64"};

static void check_cell(const Matrix& m, const Cell& c) {
  const std::string where = "matrix/cells.json: cell " + c.key();
  if (!c.recipe) return;
  auto it = m.recipes.find(*c.recipe);
  if (it == m.recipes.end())
    throw DataError(where + " names recipe \"" + *c.recipe + "\", which has no file recipes/" + *c.recipe +
                    ".json");
  if (it->second.arch != c.arch)
    throw DataError(where + " names recipe " + *c.recipe + ", which is for arch " + it->second.arch);
  for (const auto& [src, name] : c.sources) {
    auto r = m.recipes.find(name);
    if (r == m.recipes.end())
      throw DataError(where + ": source " + src + " names recipe \"" + name + "\", which does not exist");
    if (r->second.source() != src || r->second.arch != c.arch)
      throw DataError(where + ": source " + src + " names recipe " + name + " of source " +
                      r->second.source() + " for arch " + r->second.arch);
  }
  auto def = c.sources.find(it->second.source());
  if (def == c.sources.end() || def->second != *c.recipe)
    throw DataError(where + ": \"sources\" must list the default recipe under \"" + it->second.source() +
                    "\"");
}

static void check_exception(const Matrix& m, const Exception& x) {
  const std::string where = "matrix/exceptions.json: " + x.id;
  if (!m.arches.count(x.arch)) throw DataError(where + " names unknown arch " + x.arch);
  auto it = m.cells.find(x.use_cell);
  if (it == m.cells.end() || !it->second.recipe)
    throw DataError(where + ": use_cell " + x.use_cell + " is not a supported cell");
  std::string why;
  if (!satisfies(m.recipe(*it->second.recipe), x.require, &why))
    throw DataError(where + ": use_cell " + x.use_cell + " does not meet the requirement itself (" + why +
                    ")");
  if (!x.from.before(x.below)) throw DataError(where + ": \"from\" must be below \"below\"");
}

void validate(const Matrix& m) {
  for (const char* a : kRequiredArches)
    if (!m.arches.count(a)) throw DataError(std::string("matrix/arches.json: arch ") + a + " is missing");
  for (const auto& [name, a] : m.arches) {
    for (const auto& e : m.eras)
      if (!m.cells.count(e.name + "/" + name))
        throw DataError("matrix/cells.json: cell " + e.name + "/" + name +
                        " is missing (give a recipe or \"unsupported\")");
    for (const auto& [era, b] : a.boot)
      if (!a.defconfig.count(era))
        throw DataError("matrix/arches.json: " + name + ".boot has unknown era " + era);
  }
  for (const auto& [key, c] : m.cells) check_cell(m, c);
  for (const auto& x : m.exceptions) check_exception(m, x);
}

}  // namespace ksimg::matrix
