// `ksimg matrix [--json]`: the whole era x arch table (recipe, gcc, binutils, host platforms,
// status). The host platforms are those of the default recipe's toolchain: why a cell has no
// linux/arm64 image is a footnote of the table and `arm64_unavailable` in the JSON.
#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

struct MatrixOpts {
  bool json = false;
  std::string era, arch;
};

nlohmann::ordered_json cell_json(const matrix::Matrix& m, const matrix::Cell& c) {
  nlohmann::ordered_json j{{"cell", c.key()}, {"era", c.era}, {"arch", c.arch}, {"image_tag", c.tag()}};
  if (c.unsupported) {
    j["status"] = "unsupported";
    j["reason"] = *c.unsupported;
    return j;
  }
  j["status"] = "supported";
  j["toolchain"] = to_json(m.recipe(*c.recipe));
  nlohmann::ordered_json alts = nlohmann::ordered_json::object();
  for (const auto& [src, name] : c.sources) alts[src] = name;
  j["sources"] = alts;
  nlohmann::ordered_json hosts = nlohmann::ordered_json::array();
  const auto& r = m.recipe(*c.recipe);
  for (const auto& a : r.host_arches()) hosts.push_back("linux/" + a);
  j["hosts"] = hosts;
  if (!r.no_arm64.empty()) j["arm64_unavailable"] = r.no_arm64;
  if (c.note) j["note"] = *c.note;
  return j;
}

// "amd64, arm64", or "amd64 [N]" with N the footnote that says why arm64 is missing.
std::string hosts_cell(const matrix::Recipe& r, std::vector<std::string>& notes) {
  if (r.no_arm64.empty()) return "amd64, arm64";
  auto it = std::find(notes.begin(), notes.end(), r.no_arm64);
  if (it == notes.end()) it = notes.insert(notes.end(), r.no_arm64);
  return "amd64 [" + std::to_string(it - notes.begin() + 1) + "]";
}

void run(const MatrixOpts& o) {
  const auto& m = matrix::get(global().data_dir);
  std::vector<std::vector<std::string>> rows{
      {"CELL", "IMAGE", "SOURCE", "RECIPE", "GCC", "BINUTILS", "LIBC", "HOSTS", "STATUS"}};
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::vector<std::string> notes;  // why a cell has no arm64 host, numbered from 1
  for (const auto& era : m.eras) {
    if (!o.era.empty() && o.era != era.name) continue;
    for (const auto& arch : m.arch_order) {
      if (!o.arch.empty() && o.arch != arch) continue;
      const auto& c = m.cell(era.name, arch);
      all.push_back(cell_json(m, c));
      if (c.unsupported) {
        rows.push_back({c.key(), "-", "-", "-", "-", "-", "-", "-", "unsupported: " + *c.unsupported});
        continue;
      }
      const auto& r = m.recipe(*c.recipe);
      std::string alts;
      for (const auto& [src, name] : c.sources)
        if (name != r.name) alts += (alts.empty() ? " (also: " : ", ") + src;
      rows.push_back({c.key(), std::string(image_repo()) + ":" + c.tag(), r.source(), r.name, r.gcc,
                      r.binutils.value_or("-"), libc_short(r.libc), hosts_cell(r, notes),
                      "supported" + alts + (alts.empty() ? "" : ")")});
    }
  }
  if (o.json)
    std::cout << all.dump(2) << "\n";
  else {
    std::cout << table(rows);
    for (size_t i = 0; i < notes.size(); ++i)
      std::cout << "[" << i + 1 << "] no arm64 host: " << notes[i] << "\n";
  }
}

}  // namespace

void add_matrix(CLI::App& app) {
  auto o = std::make_shared<MatrixOpts>();
  auto* sub = app.add_subcommand("matrix", "Print the era x arch table of toolchain cells");
  sub->add_flag("--json", o->json, "Print JSON for scripts");
  sub->add_option("--era", o->era, "Only this era (k2.6, k3, k4, k6)");
  sub->add_option("--arch", o->arch, "Only this arch");
  sub->footer(
      "Examples:\n"
      "  ksimg matrix                 # all 52 cells: recipe, gcc, binutils, status\n"
      "  ksimg matrix --era k4 --json");
  sub->callback([o] {
    const auto& m = matrix::get(global().data_dir);
    if (!o->arch.empty() && !m.arches.count(o->arch))
      throw UsageError("unknown arch '" + o->arch + "'; valid arches: " + matrix::arch_list(m));
    bool era_ok = o->era.empty();
    std::string eras;
    for (const auto& e : m.eras) {
      era_ok = era_ok || e.name == o->era;
      eras += (eras.empty() ? "" : ", ") + e.name;
    }
    if (!era_ok) throw UsageError("unknown era '" + o->era + "'; valid eras: " + eras);
    run(*o);
  });
}

}  // namespace ksimg::cli
