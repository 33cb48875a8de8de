// .config files, config fragments and the tree's Kconfig symbols: what kbuild
// needs to merge fragments the way scripts/kconfig/merge_config.sh does, to find symbols a
// supplied .config names that the tree does not know, and to explain an option that did not
// stick (its `depends on`). Pure text functions, plus one tree scan.
#pragma once
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ksimg::kbuild {

// One requested option: SYMBOL (without CONFIG_) and its value: "y", "m", "n" (= not set), or
// the literal right-hand side ("\"text\"", "0x1000", "64").
struct Setting {
  std::string symbol, value, origin;  // origin: "--enable", "fragment FILE:LINE"
};

// SYMBOL -> value ("n" for "# CONFIG_X is not set").
using ConfigMap = std::map<std::string, std::string>;

ConfigMap parse_config(const std::string& text);

// A fragment: "CONFIG_X=y", "CONFIG_X=\"s\"", "# CONFIG_X is not set"; blank lines and other
// comments skipped. Throws UsageError naming FILE:LINE for anything else.
std::vector<Setting> parse_fragment(const std::string& text, const std::string& origin);

// Rewrites `config` with each setting replacing any earlier line for its symbol (later
// settings win), as merge_config.sh does before `make olddefconfig`.
std::string merge_settings(const std::string& config, const std::vector<Setting>& settings);

// The symbols a tree's Kconfig files define and, for each, its `depends on` expressions.
struct KconfigIndex {
  std::set<std::string> symbols;
  std::map<std::string, std::vector<std::string>> depends;
};

// Scans the tree: every Kconfig* file for the symbols, and the source graph from the top
// Kconfig (SRCARCH = `srcarch`) for dependencies, including enclosing `if` and `menu ...
// depends on` blocks (fs/Kconfig's `if BLOCK` around ext4).
KconfigIndex scan_kconfig(const std::filesystem::path& src, const std::string& srcarch);
// Indexes one Kconfig text under the enclosing conditions `conds`; `on_source(path, conds)` is
// called for each source/osource/rsource line.
using SourceFn = std::function<void(std::string, const std::vector<std::string>&)>;
void index_kconfig_text(KconfigIndex& idx, const std::string& text, std::vector<std::string> conds = {},
                        const SourceFn& on_source = {});

// Whether `final` honours `s`: y/m/n/literal equal; "n" also when the symbol is absent.
bool setting_holds(const Setting& s, const ConfigMap& final);

// One line explaining a setting that did not stick: what was asked, what the final .config
// has, and the dependencies (with their values) that are likely missing.
std::string explain_dropped(const Setting& s, const ConfigMap& final, const KconfigIndex& idx);

// The CONFIG_ symbols of a supplied config that no Kconfig file defines.
std::vector<std::string> unknown_symbols(const ConfigMap& supplied, const KconfigIndex& idx);

}  // namespace ksimg::kbuild
