// `ksimg lock` (see locker.hpp; lock schema and the source_date_epoch rule: docs/lock.md).
// Debian recipes are resolved per suite against one verified Release, so every recipe of a
// suite in the lock names the same InRelease; recipes already locked on a suite that is
// fetched again are re-resolved with it.
#include "recipes/locker.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>

#include "matrix/data.hpp"
#include "recipes/apt_sources.hpp"
#include "recipes/base.hpp"
#include "recipes/deb_archive.hpp"
#include "recipes/script.hpp"
#include "recipes/spec.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::recipes {

namespace {

using Specs = std::map<std::string, Spec>;

std::vector<std::string> cell_recipes(const matrix::Matrix& m, const std::string& key) {
  auto it = m.cells.find(key);
  if (it == m.cells.end())
    throw UsageError("unknown cell '" + key +
                     "'; expected ERA/ARCH such as k4/mipsel ('ksimg matrix' lists them)");
  const matrix::Cell& c = it->second;
  if (c.unsupported)
    throw UsageError("cell " + key + " is unsupported (" + *c.unsupported + "); it has no recipe");
  std::vector<std::string> out{*c.recipe};
  for (const auto& [source, name] : c.sources) out.push_back(name);
  return out;
}

std::set<std::string> selected(const LockRequest& req, const Specs& specs) {
  std::set<std::string> out;
  if (req.recipes.empty() && req.cells.empty()) {
    for (const auto& [name, s] : specs) out.insert(name);
    return out;
  }
  for (const auto& n : req.recipes) {
    if (!specs.count(n))
      throw UsageError("unknown recipe '" + n + "'; 'ksimg matrix' lists the recipes of each cell");
    out.insert(n);
  }
  const auto& m = matrix::get(req.data_dir);
  for (const auto& c : req.cells)
    for (const auto& n : cell_recipes(m, c)) out.insert(n);
  return out;
}

// The existing lock minus entries whose recipe is gone or changed kind.
Lock kept_entries(const std::optional<Lock>& existing, const Specs& specs) {
  Lock out;
  if (!existing) return out;
  out = *existing;
  std::erase_if(out.recipes, [&](const auto& kv) {
    auto it = specs.find(kv.first);
    bool stale = it == specs.end() || it->second.kind != kv.second.kind;
    if (stale)
      log::warn("dropping " + kv.first + " from the lock: no such " + kv.second.kind + " recipe now");
    return stale;
  });
  return out;
}

LockedRecipe lock_static(const Spec& s) {
  if (s.kind == "script") {
    LockedRecipe r = lock_script(s);  // recipes/script.cpp
    if (r.status == "pending") log::warn(s.name + ": pending: " + r.reason);
    return r;
  }
  LockedRecipe r;
  r.kind = s.kind;
  r.status = s.kind == "tarball" ? "locked" : "pending";
  r.recipe_sha256 = s.recipe_sha256;
  if (s.kind == "tarball") {
    r.urls = s.tarball.urls;
    r.sha256 = s.tarball.sha256;
  }
  return r;
}

// suite -> debian recipes to resolve against it: the selected ones, plus those already
// locked on a suite that is fetched anyway.
std::map<std::string, std::set<std::string>> debian_work(const std::set<std::string>& sel, const Specs& specs,
                                                         const Lock& base) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& n : sel)
    if (specs.at(n).kind == "debian") out[specs.at(n).debian.suite].insert(n);
  for (const auto& [n, r] : base.recipes) {
    if (r.kind != "debian") continue;
    auto it = out.find(specs.at(n).debian.suite);
    if (it != out.end()) it->second.insert(n);
  }
  return out;
}

std::vector<std::string> external_depends(const std::vector<Package>& pkgs) {
  std::map<std::string, std::string> have;
  for (const auto& p : pkgs) have[p.name] = p.version;
  std::set<std::string> open;
  for (const auto& p : pkgs) {
    try {
      for (const auto& alt : parse_relations(p.pre_depends + ", " + p.depends))
        if (!satisfied(alt, have)) open.insert(to_text(alt));
    } catch (const Error& e) {
      log::warn(p.name + " " + p.version + ": cannot read its Depends (" + e.what() + ")");
    }
  }
  return {open.begin(), open.end()};
}

struct SuiteResult {
  LockedSuite suite;
  std::map<std::string, LockedRecipe> recipes;
  std::vector<RecipeReport> reports;
  std::vector<std::string> missing;  // "pkg (recipe r)"
};

LockedSuite locked_suite(const SuiteIndex& idx) {
  const Release& r = idx.release;
  return {r.suite, r.codename, r.date, r.valid_until, idx.inrelease_sha256};
}

void resolve_recipe(const Spec& s, const SuiteIndex& idx, SuiteResult& out) {
  LockedRecipe lr{"debian", "locked", s.recipe_sha256, idx.name, {}, {}, {}};
  RecipeReport rep{s.name, "debian", "locked", idx.name, 0, 0, {}};
  std::vector<Package> found;
  for (const auto& name : s.debian.packages) {
    auto it = idx.packages.find(name);
    if (it == idx.packages.end()) {
      out.missing.push_back(name + " (recipe " + s.name + ")");
      continue;
    }
    const Package& p = it->second;
    found.push_back(p);
    lr.packages.push_back({p.name, p.version, p.architecture, p.filename, p.size, p.sha256});
    rep.bytes += p.size;
  }
  rep.packages = lr.packages.size();
  rep.external_depends = external_depends(found);
  if (!rep.external_depends.empty()) {
    // One line per recipe: the first few, all of them with --verbose. These are normally
    // met by the base layer, which the closure check of `ksimg build` proves.
    std::string list;
    const auto& d = rep.external_depends;
    size_t shown = log::level() >= log::Level::verbose ? d.size() : std::min<size_t>(d.size(), 3);
    for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + d[i];
    if (shown < d.size()) list += " and " + std::to_string(d.size() - shown) + " more (-v lists them)";
    log::info(s.name + ": Depends left to the base layer: " + list);
  }
  out.recipes[s.name] = std::move(lr);
  out.reports.push_back(std::move(rep));
}

SuiteResult resolve_suite(http::Transport& t, const ArchiveOptions& ao, const std::string& suite,
                          const std::set<std::string>& names, const Specs& specs) {
  std::set<std::string> wanted;
  for (const auto& n : names)
    wanted.insert(specs.at(n).debian.packages.begin(), specs.at(n).debian.packages.end());
  SuiteIndex idx = load_suite(t, ao, suite, wanted);
  SuiteResult res;
  res.suite = locked_suite(idx);
  for (const auto& n : names) resolve_recipe(specs.at(n), idx, res);
  if (!res.missing.empty()) {
    std::string list;
    for (const auto& m : res.missing) list += (list.empty() ? "" : ", ") + m;
    throw RuntimeError("not in suite " + suite + " (" + idx.index_path + "): " + list +
                       "; fix the recipe's \"packages\" list");
  }
  return res;
}

int64_t choose_epoch(const std::optional<Lock>& existing, const Lock& lock) {
  if (existing) return existing->source_date_epoch;
  std::optional<int64_t> newest;
  for (const auto& [name, s] : lock.debian_suites) {
    auto e = parse_release_date(s.date);
    if (e && (!newest || *e > *newest)) newest = e;
  }
  if (newest) return *newest;
  const char* env = std::getenv("SOURCE_DATE_EPOCH");
  std::string v = env ? env : "";
  if (!v.empty() && v.size() < 19 && v.find_first_not_of("0123456789") == std::string::npos)
    return std::stoll(v);
  throw UsageError(
      "cannot choose source_date_epoch for a new lock: no Debian suite is locked; "
      "lock a debian recipe too or set SOURCE_DATE_EPOCH");
}

void prune_suites(Lock& lock) {
  std::set<std::string> used;
  for (const auto& [n, r] : lock.recipes)
    if (r.kind == "debian") used.insert(r.suite);
  std::erase_if(lock.debian_suites, [&](const auto& kv) { return !used.count(kv.first); });
}

}  // namespace

// Adds the base (layers/base.json) as a debian-kind spec named "base". Its package list is
// what mmdebstrap resolves when the base is selected, else the list the lock already holds.
void add_base_spec(Specs& specs, const LockRequest& req, const std::optional<Lock>& existing,
                   bool selected_base) {
  auto def = load_base(matrix::data_files(req.data_dir));
  if (!def) return;
  std::vector<std::string> names;
  if (selected_base) {
    std::string mirror = discover_debian_mirror(req.mirror_flag, req.apt_root);
    log::info("base: resolving " + def->variant + " + " + std::to_string(def->packages.size()) +
              " packages of " + def->suite + " with mmdebstrap --simulate");
    for (const auto& [n, v] : simulate_base(*def, mirror, req.keyring.string())) names.push_back(n);
  } else if (existing && existing->recipes.count(kBaseName)) {
    for (const auto& p : existing->recipes.at(kBaseName).packages) names.push_back(p.name);
  }
  specs[kBaseName] = base_spec(*def, names);
}

LockResult lock_recipes(const LockRequest& req, http::Transport& t) {
  Specs specs = load_specs(matrix::data_files(req.data_dir));
  auto old_text = files::read_if_exists(req.lock_file);
  std::optional<Lock> existing;
  if (old_text) existing = parse_lock(*old_text, req.lock_file.string());
  // The base is locked by a full run or by --recipe base (a --cell run locks only that cell's
  // recipes); it needs mmdebstrap and the mirror, which the other kinds do not.
  bool want_base = (req.recipes.empty() && req.cells.empty()) ||
                   std::find(req.recipes.begin(), req.recipes.end(), kBaseName) != req.recipes.end();
  add_base_spec(specs, req, existing, want_base);
  std::set<std::string> sel = selected(req, specs);
  bool full = req.recipes.empty() && req.cells.empty();
  LockResult res;
  res.lock = full ? Lock{} : kept_entries(existing, specs);
  for (const auto& n : sel)
    if (specs.at(n).kind != "debian") {
      res.lock.recipes[n] = lock_static(specs.at(n));
      res.recipes.push_back({n, specs.at(n).kind, res.lock.recipes[n].status, "", 0, 0, {}});
    }
  auto work = debian_work(sel, specs, res.lock);
  if (!work.empty()) {
    ArchiveOptions ao{discover_debian_mirror(req.mirror_flag, req.apt_root), req.keyring, "main", "amd64",
                      req.now};
    for (const auto& [suite, names] : work) {
      SuiteResult sr = resolve_suite(t, ao, suite, names, specs);
      res.lock.debian_suites[suite] = sr.suite;
      for (auto& [n, r] : sr.recipes) res.lock.recipes[n] = std::move(r);
      res.recipes.insert(res.recipes.end(), sr.reports.begin(), sr.reports.end());
    }
  }
  prune_suites(res.lock);
  res.lock.source_date_epoch = choose_epoch(existing, res.lock);
  std::string text = render_lock(res.lock);
  res.written = !old_text || *old_text != text;
  if (res.written) files::write_atomic(req.lock_file, text);
  std::sort(res.recipes.begin(), res.recipes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return res;
}

}  // namespace ksimg::recipes
