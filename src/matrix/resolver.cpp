// The resolver (see resolver.hpp). Order of decisions, each recorded in Resolution::why:
// band -> arch availability -> cell -> recipe (default or --source) -> exceptions.
// The exception step generalises kernelsmith's band-wide k4-x86_64 override to the
// version range the problem actually has, and applies whatever source was chosen.
#include "matrix/resolver.hpp"

#include <algorithm>

#include "util/error.hpp"

namespace ksimg::matrix {

std::string arch_list(const Matrix& m) {
  std::string s;
  for (const auto& a : m.arch_order) s += (s.empty() ? "" : ", ") + a;
  return s;
}

bool satisfies(const Recipe& r, const Requirement& req, std::string* violated) {
  if (req.binutils_below) {
    if (!r.binutils) {
      if (violated)
        *violated = "recipe " + r.name + " does not record its binutils version, so binutils < " +
                    *req.binutils_below + " cannot be shown";
      return false;
    }
    if (compare_dotted(*r.binutils, *req.binutils_below) >= 0) {
      if (violated) *violated = "binutils " + *r.binutils + " is not below " + *req.binutils_below;
      return false;
    }
  }
  if (req.abi && r.abi != req.abi) {
    if (violated) *violated = "gcc defaults to ABI " + r.abi.value_or("unknown") + ", not " + *req.abi;
    return false;
  }
  return true;
}

const Era& era_for(const Matrix& m, const Version& v) {
  for (const auto& e : m.eras)
    if (!e.below || v.before(*e.below)) return e;
  throw DataError("matrix/eras.json: no band holds " + v.str());  // unreachable: validated
}

static std::string band_text(const Era& e, const Version& v) {
  std::string s = e.from.str() + " <= " + v.str();
  if (e.below) s += " < " + e.below->str();
  return s;
}

static void check_arch(const Matrix& m, const Arch& a, const Version& v) {
  (void)m;
  if (a.no_kernel) throw UsageError("arch " + a.name + " cannot build a kernel: " + *a.no_kernel);
  if (a.kernel_since && v.before(*a.kernel_since))
    throw UsageError("arch " + a.name + " has no kernel " + v.str() + ": " + a.kernel_since_reason +
                     "; choose a version >= " + a.kernel_since->str() + " or another arch");
}

static const Recipe& pick_recipe(const Matrix& m, const Cell& c, const std::optional<std::string>& source) {
  if (!source) return m.recipe(*c.recipe);
  auto it = c.sources.find(*source);
  if (it == c.sources.end()) {
    std::string have;
    for (const auto& [s, r] : c.sources) have += (have.empty() ? "" : ", ") + s;
    throw UsageError("cell " + c.key() + " has no '" + *source + "' toolchain; its sources are: " + have);
  }
  return m.recipe(it->second);
}

static void apply_exceptions(const Matrix& m, Resolution& r) {
  for (const auto& x : m.exceptions) {
    if (x.arch != r.arch || r.version.before(x.from) || !r.version.before(x.below)) continue;
    std::string violated;
    if (satisfies(*r.recipe, x.require, &violated)) {
      r.why.push_back("exception " + x.id + " checked (" + x.from.str() + " <= v < " + x.below.str() +
                      "): " + r.recipe->name + " meets it");
      continue;
    }
    const Cell& to = m.cells.at(x.use_cell);
    r.exception = AppliedException{x.id, x.reason, x.evidence, r.cell->key(), to.key(), violated};
    r.why.push_back("exception " + x.id + " applied: " + violated + "; " + x.reason + " -> using cell " +
                    to.key());
    r.cell = &to;
    r.recipe = &m.recipe(*to.recipe);
  }
}

Resolution resolve(const Matrix& m, const Version& v, const std::string& arch,
                   const std::optional<std::string>& source) {
  auto ait = m.arches.find(arch);
  if (ait == m.arches.end()) throw UsageError("unknown arch '" + arch + "'; valid arches: " + arch_list(m));
  Resolution r;
  r.version = v;
  r.arch = arch;
  r.era = &era_for(m, v);
  r.band = band_text(*r.era, v);
  r.why.push_back("band " + r.era->name + " matched: " + r.band);
  check_arch(m, ait->second, v);
  r.cell = &m.cell(r.era->name, arch);
  if (r.cell->unsupported)
    throw UsageError("cell " + r.cell->key() + " is unsupported: " + *r.cell->unsupported);
  r.recipe = &pick_recipe(m, *r.cell, source);
  r.why.push_back("cell " + r.cell->key() + ": " +
                  (source ? "--source " + *source + " chose " : "default recipe ") + r.recipe->name + " (" +
                  r.recipe->source() + ")");
  apply_exceptions(m, r);
  if (r.cell->note) r.why.push_back("note on " + r.cell->key() + ": " + *r.cell->note);
  r.image_tag = image_tag(*r.cell, *r.recipe);
  return r;
}

std::string image_tag(const Cell& c, const Recipe& r) {
  return c.tag() + (c.recipe && r.name == *c.recipe ? "" : "-" + r.source());
}

CellChoice resolve_cell(const Matrix& m, const std::string& key, const std::optional<std::string>& source) {
  auto it = m.cells.find(key);
  if (it == m.cells.end())
    throw UsageError("unknown cell '" + key +
                     "'; expected ERA/ARCH such as k4/mipsel ('ksimg matrix' lists them)");
  const Cell& c = it->second;
  if (c.unsupported) throw UsageError("cell " + key + " is unsupported: " + *c.unsupported);
  const Recipe& r = pick_recipe(m, c, source);
  return {&c, &r, image_tag(c, r)};
}

// "a <= v < b" for the overlap of [from, below) with an era's band; empty when none.
static std::string overlap(const Era& e, const Version& from, const Version& below) {
  const Version& lo = from.before(e.from) ? e.from : from;
  const Version& hi = (e.below && e.below->before(below)) ? *e.below : below;
  if (!lo.before(hi)) return "";
  return lo.str() + " <= v < " + hi.str();
}

std::string cell_kernel_range(const Matrix& m, const Cell& cell, const Recipe& recipe) {
  const auto& arch = cell.arch;
  const auto& own = *std::find_if(m.eras.begin(), m.eras.end(), [&](auto& e) { return e.name == cell.era; });
  std::string s = own.from.str() + " <= v" + (own.below ? " < " + own.below->str() : "");
  for (const auto& x : m.exceptions) {
    if (x.arch != arch) continue;
    for (const auto& e : m.eras) {
      const auto& c = m.cell(e.name, arch);
      std::string range = overlap(e, x.from, x.below);
      if (range.empty() || !c.recipe) continue;
      if (&c == &cell && !satisfies(recipe, x.require, nullptr))
        s += "; except " + range + " -> " + x.use_cell + " (" + x.id + ")";
      else if (&c != &cell && x.use_cell == cell.key() && !satisfies(m.recipe(*c.recipe), x.require, nullptr))
        s += "; also " + range + " (" + x.id + ")";
    }
  }
  return s;
}

}  // namespace ksimg::matrix
