// Renderers for resolve/matrix output (see render.hpp). JSON key names are part of the
// scripting interface documented in README ("ksimg resolve --json").
#include "cli/render.hpp"

#include <algorithm>

namespace ksimg::cli {

using oj = nlohmann::ordered_json;

static oj opt(const std::optional<std::string>& s) {
  return s ? oj(*s) : oj(nullptr);
}

oj to_json(const matrix::Recipe& r) {
  oj j{{"recipe", r.name},
       {"source", r.source()},
       {"kind", r.kind},
       {"gcc", r.gcc},
       {"binutils", opt(r.binutils)},
       {"libc", r.libc},
       {"triple", r.triple},
       {"cross_compile", r.triple + "-"},
       {"abi", opt(r.abi)}};
  if (r.libc_arm64) j["libc_arm64"] = *r.libc_arm64;  // the linux/arm64 image's, where it differs
  return j;
}

oj to_json(const matrix::Resolution& r) {
  oj j{{"version", r.version.str()},
       {"arch", r.arch},
       {"era", r.era->name},
       {"band",
        {{"from", r.era->from.str()},
         {"below", r.era->below ? oj(r.era->below->str()) : oj(nullptr)},
         {"text", r.band}}},
       {"cell", r.cell->key()},
       {"image_tag", r.image_tag},
       {"image", std::string(image_repo()) + ":" + r.image_tag},
       {"toolchain", to_json(*r.recipe)}};
  if (r.exception) {
    const auto& x = *r.exception;
    j["exception"] = {{"id", x.id},           {"from_cell", x.from_cell},
                      {"to_cell", x.to_cell}, {"violated", x.violated},
                      {"reason", x.reason},   {"evidence", x.evidence}};
  } else {
    j["exception"] = nullptr;
  }
  j["why"] = r.why;
  return j;
}

std::string toolchain_summary(const matrix::Recipe& r) {
  return r.source() + " gcc " + r.gcc + ", binutils " + r.binutils.value_or("(not recorded)") + ", " + r.libc;
}

std::string libc_short(const std::string& libc) {
  return libc.substr(0, libc.find(" ("));
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], row[i].size());
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace ksimg::cli
