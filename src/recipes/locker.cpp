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

// One line per recipe and host: the first few Depends its packages leave open, all of them
// with --verbose. These are normally met by the base layer, which the closure check of
// `ksimg build` proves.
void log_external(const std::string& what, const std::vector<std::string>& d) {
  if (d.empty()) return;
  std::string list;
  size_t shown = log::level() >= log::Level::verbose ? d.size() : std::min<size_t>(d.size(), 3);
  for (size_t i = 0; i < shown; ++i) list += (i ? ", " : "") + d[i];
  if (shown < d.size()) list += " and " + std::to_string(d.size() - shown) + " more (-v lists them)";
  log::info(what + ": Depends left to the base layer: " + list);
}

// `names` looked up in one architecture's index: the pins, in order, and the packages found.
// A package of another architecture than `arch` or "all" is refused (a recipe that names a
// foreign package would install code the host cannot run).
std::vector<LockedPackage> pin_packages(const std::string& recipe, const std::vector<std::string>& names,
                                        const SuiteIndex& idx, const std::string& arch,
                                        std::vector<Package>& found, std::vector<std::string>& missing) {
  std::vector<LockedPackage> out;
  for (const auto& name : names) {
    auto it = idx.packages.find(name);
    if (it == idx.packages.end()) {
      missing.push_back(name + " (recipe " + recipe + (arch == "amd64" ? "" : ", " + arch + " host") + ")");
      continue;
    }
    const Package& p = it->second;
    if (arch != "amd64" && p.architecture != arch && p.architecture != "all")
      throw RuntimeError(recipe + ": " + p.name + " " + p.version + " in " + idx.index_path + " is for " +
                         p.architecture + ", not " + arch + "; fix the recipe's hosts." + arch);
    found.push_back(p);
    out.push_back({p.name, p.version, p.architecture, p.filename, p.size, p.sha256});
  }
  return out;
}

void resolve_recipe(const Spec& s, const SuiteIndex& idx, SuiteResult& out) {
  LockedRecipe lr{"debian", "locked", s.recipe_sha256, idx.name, {}, {}, {}};
  RecipeReport rep{s.name, "debian", "locked", idx.name, 0, 0, {}};
  std::vector<Package> found;
  lr.packages = pin_packages(s.name, s.debian.packages, idx, "amd64", found, out.missing);
  for (const auto& p : lr.packages) rep.bytes += p.size;
  rep.packages = lr.packages.size();
  rep.external_depends = external_depends(found);
  log_external(s.name, rep.external_depends);
  out.recipes[s.name] = std::move(lr);
  out.reports.push_back(std::move(rep));
}

// The arm64 package set of a recipe already resolved for amd64 into `out`.
void resolve_arm64(const Spec& s, const SuiteIndex& idx, SuiteResult& out) {
  std::vector<Package> found;
  auto pins = pin_packages(s.name, s.debian.arm64->packages, idx, "arm64", found, out.missing);
  auto& rep =
      *std::find_if(out.reports.begin(), out.reports.end(), [&](const auto& r) { return r.name == s.name; });
  for (const auto& p : pins) rep.arm64_bytes += p.size;
  rep.arm64_packages = pins.size();
  rep.arm64_external_depends = external_depends(found);
  log_external(s.name + " (arm64 host)", rep.arm64_external_depends);
  out.recipes[s.name].hosts["arm64"] = std::move(pins);
}

void throw_missing(const std::string& suite, const SuiteIndex& idx, const std::vector<std::string>& missing,
                   const std::string& key) {
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  throw RuntimeError("not in suite " + suite + " (" + idx.index_path + "): " + list + "; fix the recipe's " +
                     key);
}

// Resolves the arm64 package sets of the recipes that have one, against the suite's arm64
// index, which must come from the same signed Release as the amd64 one.
void resolve_suite_arm64(http::Transport& t, ArchiveOptions ao, const std::string& suite,
                         const std::set<std::string>& names, const Specs& specs, SuiteResult& res) {
  std::set<std::string> wanted;
  for (const auto& n : names)
    if (specs.at(n).debian.arm64)
      wanted.insert(specs.at(n).debian.arm64->packages.begin(), specs.at(n).debian.arm64->packages.end());
  if (wanted.empty()) return;
  ao.arch = "arm64";
  SuiteIndex idx = load_suite(t, ao, suite, wanted);
  if (idx.inrelease_sha256 != res.suite.inrelease_sha256)
    throw RuntimeError("the archive published a new " + suite +
                       " InRelease while it was being read (amd64, then arm64); run 'ksimg lock' again");
  for (const auto& n : names)
    if (specs.at(n).debian.arm64) resolve_arm64(specs.at(n), idx, res);
  throw_missing(suite, idx, res.missing, "hosts.arm64 \"packages\"");
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
  throw_missing(suite, idx, res.missing, "\"packages\" list");
  resolve_suite_arm64(t, ao, suite, names, specs, res);
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

// Adds the base (layers/base.json) as a debian-kind spec named "base". Its package lists (the
// definition's architecture and arm64) are what mmdebstrap resolves when the base is selected,
// else the lists the lock already holds.
void add_base_spec(Specs& specs, const LockRequest& req, const std::optional<Lock>& existing,
                   bool selected_base) {
  auto def = load_base(matrix::data_files(req.data_dir));
  if (!def) return;
  std::vector<std::string> names, arm64;
  if (selected_base) {
    std::string mirror = discover_debian_mirror(req.mirror_flag, req.apt_root);
    // The definition's architecture (amd64) gives the lock's "packages", arm64 its hosts.arm64.
    for (const std::string& arch : {def->architecture, std::string("arm64")}) {
      BaseDefinition d = *def;
      d.architecture = arch;
      log::info("base: resolving " + d.variant + " + " + std::to_string(d.packages.size()) + " packages of " +
                d.suite + " for " + arch + " with mmdebstrap --simulate");
      for (const auto& [n, v] : simulate_base(d, mirror, req.keyring.string()))
        (arch == def->architecture ? names : arm64).push_back(n);
    }
  } else if (existing && existing->recipes.count(kBaseName)) {
    const auto& e = existing->recipes.at(kBaseName);
    for (const auto& p : e.packages) names.push_back(p.name);
    for (const auto& p : e.packages_for("arm64")) arm64.push_back(p.name);
  }
  specs[kBaseName] = base_spec(*def, names);
  if (!arm64.empty()) specs[kBaseName].debian.arm64 = DebianSpec::Host{arm64, ""};
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
