// Pinned sources of cells (see sources.hpp). A source is identified by its pin, so two
// recipes sharing gcc-13.3.0.tar.xz list it once with both names.
#include "recipes/sources.hpp"

#include <algorithm>
#include <set>

#include "matrix/data.hpp"
#include "util/error.hpp"

namespace ksimg::recipes {

namespace {

std::string basename_of(const std::string& url) {
  std::string u = url.substr(0, url.find_first_of("?#"));
  return u.substr(u.rfind('/') + 1);
}

void add(std::map<std::string, PinnedSource>& by_pin, PinnedSource s, const std::string& recipe) {
  std::string key = s.sha256.empty() ? s.nar_sha256 : s.sha256;
  auto [it, fresh] = by_pin.emplace(key, std::move(s));
  it->second.recipes.push_back(recipe);
}

}  // namespace

std::vector<PinnedSource> pinned_sources(const std::map<std::string, Spec>& specs,
                                         const std::vector<std::string>& recipes) {
  std::map<std::string, PinnedSource> by_pin;
  for (const auto& name : recipes) {
    auto it = specs.find(name);
    if (it == specs.end()) throw UsageError("unknown recipe '" + name + "'; 'ksimg matrix' lists them");
    const Spec& s = it->second;
    if (s.kind == "tarball" && !s.tarball.urls.empty())
      add(by_pin, {basename_of(s.tarball.urls.front()), s.tarball.urls, s.tarball.sha256, "", {}}, name);
    if (s.kind == "script")
      for (const auto& in : s.script.inputs)
        add(by_pin, {in.name, in.urls, in.sha256.value_or(""), in.nar_sha256, {}}, name);
  }
  std::vector<PinnedSource> out;
  for (auto& [k, s] : by_pin) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::vector<std::string> cells_recipes(const std::string& data_dir, const std::vector<std::string>& cells) {
  const auto& m = matrix::get(data_dir);
  std::set<std::string> out;
  for (const auto& key : cells) {
    auto it = m.cells.find(key);
    if (it == m.cells.end())
      throw UsageError("unknown cell '" + key +
                       "'; expected ERA/ARCH such as k4/mipsel ('ksimg matrix' lists them)");
    if (it->second.unsupported) continue;
    if (it->second.recipe) out.insert(*it->second.recipe);
    for (const auto& [source, name] : it->second.sources) out.insert(name);
  }
  return {out.begin(), out.end()};
}

}  // namespace ksimg::recipes
