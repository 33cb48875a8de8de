// kbuild's view of its own cell (see cell.hpp). The image records its cell in Env; the
// membership test is the resolver itself, so kbuild and `ksimg resolve` cannot disagree.
#include "kbuild/cell.hpp"

#include <unistd.h>

#include <algorithm>

#include "util/error.hpp"

extern char** environ;

namespace ksimg::kbuild {

std::map<std::string, std::string> process_env() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

static std::string need(const std::map<std::string, std::string>& env, const char* name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty())
    throw UsageError(
        std::string(name) +
        " is not set: kbuild runs inside a kernelsmith cell image (podman run REG/kernelsmith:k4-mipsel "
        "kbuild ...), or set KSIMG_ERA, KSIMG_ARCH and KSIMG_RECIPE yourself");
  return it->second;
}

CellIdentity identify(const matrix::Matrix& m, const std::map<std::string, std::string>& env) {
  std::string era = need(env, "KSIMG_ERA"), arch = need(env, "KSIMG_ARCH"),
              recipe = need(env, "KSIMG_RECIPE");
  auto c = m.cells.find(era + "/" + arch);
  if (c == m.cells.end() || !c->second.recipe)
    throw UsageError("KSIMG_ERA/KSIMG_ARCH name no supported cell: " + era + "/" + arch);
  CellIdentity id{&c->second, nullptr, c->second.tag()};
  for (const auto& [src, name] : c->second.sources)
    if (name == recipe) id.recipe = &m.recipe(name);
  if (!id.recipe)
    throw UsageError("KSIMG_RECIPE " + recipe + " is not a toolchain of cell " + c->second.key());
  if (recipe != *c->second.recipe) id.image_tag += "-" + id.recipe->source();
  return id;
}

std::string supported_range(const matrix::Matrix& m, const CellIdentity& id) {
  return matrix::cell_kernel_range(m, *id.cell, *id.recipe);
}

std::optional<std::string> other_image_for(const matrix::Matrix& m, const CellIdentity& id,
                                           const matrix::Version& v) {
  // Ask for this image's source only where this image is a non-default-source one and the
  // version's own cell offers that source; otherwise the resolver's default answer.
  const auto& target = m.cell(matrix::era_for(m, v).name, id.cell->arch);
  std::optional<std::string> src;
  if (id.recipe->name != *id.cell->recipe && target.sources.count(id.recipe->source()))
    src = id.recipe->source();
  auto r = matrix::resolve(m, v, id.cell->arch, src);
  if (r.cell == id.cell && r.recipe == id.recipe) return std::nullopt;
  if (r.recipe == id.recipe) return std::nullopt;  // an exception sent it to this very toolchain
  return r.image_tag;
}

}  // namespace ksimg::kbuild
