// .config / fragment / Kconfig text handling (see kconfig.hpp). Formats: the kernel's
// Documentation/kbuild/kconfig-language.rst (config/menuconfig entries, `depends on`) and the
// .config syntax written by scripts/kconfig (CONFIG_X=v, "# CONFIG_X is not set").
#include "kbuild/kconfig.hpp"

#include <regex>
#include <sstream>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::kbuild {

namespace {

const std::regex& set_re() {
  static const std::regex r(R"(^CONFIG_([A-Za-z0-9_]+)=(.*)$)");
  return r;
}
const std::regex& unset_re() {
  static const std::regex r(R"(^# CONFIG_([A-Za-z0-9_]+) is not set\s*$)");
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> parse_line(const std::string& l) {
  std::smatch m;
  if (std::regex_match(l, m, set_re())) return std::pair{m[1].str(), m[2].str()};
  if (std::regex_match(l, m, unset_re())) return std::pair{m[1].str(), std::string("n")};
  return std::nullopt;
}

}  // namespace

ConfigMap parse_config(const std::string& text) {
  ConfigMap m;
  for (const auto& l : lines_of(text))
    if (auto kv = parse_line(l)) m[kv->first] = kv->second;
  return m;
}

std::vector<Setting> parse_fragment(const std::string& text, const std::string& origin) {
  std::vector<Setting> out;
  int n = 0;
  for (const auto& l : lines_of(text)) {
    ++n;
    if (auto kv = parse_line(l)) {
      out.push_back({kv->first, kv->second, origin + ":" + std::to_string(n)});
      continue;
    }
    auto first = l.find_first_not_of(" \t");
    if (first == std::string::npos || l[first] == '#') continue;
    throw UsageError(origin + ":" + std::to_string(n) + ": not a config line: \"" + l +
                     "\" (expected CONFIG_X=y, CONFIG_X=\"text\" or # CONFIG_X is not set)");
  }
  return out;
}

std::string merge_settings(const std::string& config, const std::vector<Setting>& settings) {
  std::map<std::string, std::string> last;
  for (const auto& s : settings) last[s.symbol] = s.value;
  std::string out;
  for (const auto& l : lines_of(config)) {
    auto kv = parse_line(l);
    if (kv && last.count(kv->first)) continue;
    out += l + "\n";
  }
  for (const auto& s : settings) {
    if (last.find(s.symbol) == last.end()) continue;  // emitted already
    const std::string& v = last[s.symbol];
    out += v == "n" ? "# CONFIG_" + s.symbol + " is not set\n" : "CONFIG_" + s.symbol + "=" + v + "\n";
    last.erase(s.symbol);
  }
  return out;
}

void index_kconfig_text(KconfigIndex& idx, const std::string& text, std::vector<std::string> conds,
                        const SourceFn& on_source) {
  static const std::regex entry(R"(^\s*(menu)?config\s+([A-Za-z0-9_]+)\s*$)");
  static const std::regex dep(R"(^\s*depends\s+on\s+(.+?)\s*$)");
  static const std::regex if_re(R"(^\s*if\s+(.+?)\s*$)"), menu_re(R"(^\s*menu\s+.*$)");
  static const std::regex close_re(R"(^\s*(endif|endmenu)\b.*$)");
  static const std::regex source_re(R"re(^\s*[or]?source\s+"?([^"\s]+)"?\s*$)re");
  static const std::regex other_re(R"(^\s*(choice|endchoice|comment|mainmenu)\b.*$)");
  std::string current;
  bool menu_header = false;
  std::smatch m;
  for (const auto& l : lines_of(text)) {
    if (std::regex_match(l, m, entry)) {
      current = m[2].str();
      menu_header = false;
      idx.symbols.insert(current);
      for (const auto& c : conds)
        if (!c.empty()) idx.depends[current].push_back(c);
    } else if (std::regex_match(l, m, dep)) {
      if (!current.empty())
        idx.depends[current].push_back(m[1].str());
      else if (menu_header && !conds.empty())
        conds.back() = m[1].str();
    } else if (std::regex_match(l, m, if_re)) {
      conds.push_back(m[1].str()), current.clear(), menu_header = false;
    } else if (std::regex_match(l, m, menu_re)) {
      conds.push_back(""), current.clear(), menu_header = true;
    } else if (std::regex_match(l, m, close_re)) {
      if (!conds.empty()) conds.pop_back();
      current.clear(), menu_header = false;
    } else if (std::regex_match(l, m, source_re)) {
      current.clear(), menu_header = false;
      if (on_source) on_source(m[1].str(), conds);
    } else if (std::regex_match(l, m, other_re)) {
      current.clear(), menu_header = false;
    }
  }
}

namespace {

void walk(KconfigIndex& idx, const std::filesystem::path& src, const std::filesystem::path& file,
          const std::vector<std::string>& conds, const std::string& srcarch, std::set<std::string>& seen) {
  if (!seen.insert(file.string()).second) return;
  auto text = files::read_if_exists(file);
  if (!text) return;
  index_kconfig_text(idx, *text, conds, [&](std::string p, const std::vector<std::string>& c) {
    for (const char* var : {"$(SRCARCH)", "$SRCARCH", "$(ARCH)", "$ARCH"})
      for (size_t pos; (pos = p.find(var)) != std::string::npos;)
        p.replace(pos, std::string(var).size(), srcarch);
    walk(idx, src, src / p, c, srcarch, seen);
  });
}

}  // namespace

KconfigIndex scan_kconfig(const std::filesystem::path& src, const std::string& srcarch) {
  KconfigIndex all, idx;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(src, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.rfind("Kconfig", 0) == 0 && it->is_regular_file())
      index_kconfig_text(all, files::read(it->path()));
  }
  std::set<std::string> seen;
  walk(idx, src, src / "Kconfig", {}, srcarch, seen);  // with enclosing if/menu conditions
  idx.symbols = all.symbols;
  for (const auto& [sym, deps] : all.depends)
    if (!idx.depends.count(sym)) idx.depends[sym] = deps;  // files the walk did not reach
  return idx;
}

bool setting_holds(const Setting& s, const ConfigMap& final) {
  auto it = final.find(s.symbol);
  if (it == final.end()) return s.value == "n";
  return it->second == s.value;
}

std::string explain_dropped(const Setting& s, const ConfigMap& final, const KconfigIndex& idx) {
  auto it = final.find(s.symbol);
  std::string got = it == final.end() ? "absent" : it->second == "n" ? "not set" : it->second;
  std::string msg = "CONFIG_" + s.symbol + " (" + s.origin + ") asked " + s.value +
                    ", the final .config has " + (got == "absent" ? "no such line" : got);
  if (!idx.symbols.count(s.symbol)) return msg + "; no Kconfig file of this tree defines it (unknown symbol)";
  auto d = idx.depends.find(s.symbol);
  if (d == idx.depends.end()) return msg + "; it has no dependencies (a choice or a select may override it)";
  static const std::regex word(R"([A-Za-z_][A-Za-z0-9_]*)");
  std::string deps, missing;
  for (const auto& e : d->second) {
    deps += (deps.empty() ? "" : " && ") + std::string("(") + e + ")";
    for (std::sregex_iterator w(e.begin(), e.end(), word), end; w != end; ++w) {
      std::string sym = w->str();
      auto before =
          e.find_last_not_of(" \t(", static_cast<size_t>(w->position()) - (w->position() > 0 ? 1 : 0));
      bool negated = w->position() > 0 && before != std::string::npos && e[before] == '!';
      if (negated || sym == "y" || sym == "m" || sym == "n" || !idx.symbols.count(sym)) continue;
      auto f = final.find(sym);
      if (f == final.end() || f->second == "n")
        missing += (missing.empty() ? "" : ", ") + std::string("CONFIG_") + sym;
    }
  }
  msg += "; it depends on " + deps;
  if (!missing.empty()) msg += "; not set: " + missing + " (enable those too)";
  return msg;
}

std::vector<std::string> unknown_symbols(const ConfigMap& supplied, const KconfigIndex& idx) {
  std::vector<std::string> out;
  for (const auto& [sym, v] : supplied)
    if (!idx.symbols.count(sym)) out.push_back(sym);
  return out;
}

}  // namespace ksimg::kbuild
