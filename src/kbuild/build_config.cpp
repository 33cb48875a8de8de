// The config step (the sequence of kernelsmith's kernel.nix configCmd and the capability
// disables after it): defconfig or a supplied .config (normalized, listnewconfig and unknown symbols
// reported), fragments merged as merge_config.sh does, capability auto-disables (quirks),
// then the check that every requested option is in the final .config -- before any compile.
#include <algorithm>
#include <map>
#include <optional>

#include "kbuild/build.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::vector<Setting> requested_settings(const BuildOptions& o, const Plan& p) {
  std::vector<Setting> out;
  auto strip = [](std::string s) { return s.rfind("CONFIG_", 0) == 0 ? s.substr(7) : s; };
  if (p.boot) {
    for (const auto& e : p.boot->enable) out.push_back({strip(e), "y", "boot config of " + p.boot->cell});
    for (const auto& d : p.boot->disable) out.push_back({strip(d), "n", "boot config of " + p.boot->cell});
  }
  for (const auto& f : o.fragments) {
    auto text = files::read_if_exists(f);
    if (!text) throw UsageError("--fragment " + f.string() + ": no such file");
    auto s = parse_fragment(*text, f.string());
    out.insert(out.end(), s.begin(), s.end());
  }
  for (const auto& e : o.enable) out.push_back({strip(e), "y", "--enable " + e});
  for (const auto& d : o.disable) out.push_back({strip(d), "n", "--disable " + d});
  return out;
}

namespace {

fs::path dotconfig(const BuildContext& c) {
  return c.plan.build / ".config";
}

void normalize(BuildContext& c) {
  std::optional<std::string> yes;
  if (c.plan.normalize == matrix::Normalize::oldconfig)
    yes = std::string(200000, '\n');  // yes "" | make oldconfig
  std::string target = name(c.plan.normalize);
  c.runner.must(c.plan.make_argv(c.source.tree, {target}, false), target, yes);
}

// What the config step depends on; unchanged inputs and an existing .config skip the step.
std::string inputs_text(const BuildContext& c) {
  std::string s = "source " + c.plan.config_source.name() + "\nnormalize " + name(c.plan.normalize) + "\n";
  if (c.plan.boot) s += "boot defconfig " + c.plan.boot->defconfig + "\n";
  if (c.opts.config) s += "config-text\n" + files::read(*c.opts.config);
  for (const auto& r : requested_settings(c.opts, c.plan)) s += "set " + r.symbol + "=" + r.value + "\n";
  for (const auto* q : c.plan.config_enables) s += "quirk " + q->id + "\n";
  for (const auto* q : c.plan.config_disables) s += "quirk " + q->id + "\n";
  return s;
}

void report_supplied(BuildContext& c, const ConfigMap& supplied, const KconfigIndex& idx) {
  auto final = parse_config(files::read(dotconfig(c)));
  json changed = json::array();
  for (const auto& [sym, v] : supplied) {
    auto it = final.find(sym);
    std::string now = it == final.end() ? "absent" : it->second;
    if (now != v && !(v == "n" && now == "absent"))
      changed.push_back("CONFIG_" + sym + ": " + v + " -> " + now);
  }
  auto unknown = unknown_symbols(supplied, idx);
  c.meta.doc()["config"]["changed_by_normalize"] = changed;
  c.meta.doc()["config"]["unknown_symbols"] = unknown;
  if (!changed.empty())
    log::info("config: " + std::to_string(changed.size()) + " options changed by " + name(c.plan.normalize) +
              " (metadata.json config.changed_by_normalize)");
  if (unknown.empty()) return;
  std::string list;
  for (const auto& u : unknown) list += (list.empty() ? "CONFIG_" : ", CONFIG_") + u;
  if (c.opts.config_strict)
    throw UsageError("--config-strict: the supplied config names " + std::to_string(unknown.size()) +
                     " symbols this tree does not define: " + list);
  log::warn("the supplied config names symbols this tree does not define (ignored): " + list);
}

void list_new(BuildContext& c) {
  subprocess::Options o;
  o.env = c.runner.env();
  auto argv = c.plan.make_argv(c.source.tree, {"listnewconfig"}, false);
  auto r = subprocess::run(argv, o);
  c.runner.note("$ " + shell_join(argv) + "\n" + r.out + r.err);
  json fresh = json::array();
  if (!r.ok()) {
    c.meta.doc()["config"]["new_symbols"] = "listnewconfig unavailable on this tree";
    return;
  }
  for (const auto& [sym, v] : parse_config(r.out)) fresh.push_back("CONFIG_" + sym + "=" + v);
  c.meta.doc()["config"]["new_symbols"] = fresh;
  if (!fresh.empty())
    log::info("config: " + std::to_string(fresh.size()) +
              " symbols new to the supplied config take their defaults (metadata.json config.new_symbols)");
}

void base_config(BuildContext& c, const KconfigIndex& idx) {
  const auto& src = c.plan.config_source;
  if (src.kind != ConfigSource::Kind::file) {
    c.runner.must(c.plan.make_argv(c.source.tree, {src.defconfig}, false), src.defconfig);
    return;
  }
  std::string text = files::read(*c.opts.config);
  files::write_atomic(dotconfig(c), text);
  list_new(c);
  normalize(c);
  report_supplied(c, parse_config(text), idx);
}

// The arch's own settings (quirks: endianness, word size) on top of the base config.
void arch_enable(BuildContext& c) {
  std::vector<Setting> on;
  for (const auto* q : c.plan.config_enables)
    for (const auto& sym : q->action.symbols) on.push_back({sym, "y", "quirk " + q->id});
  if (on.empty()) return;
  auto cfg = parse_config(files::read(dotconfig(c)));
  bool all_set = std::all_of(on.begin(), on.end(), [&](const Setting& s) { return setting_holds(s, cfg); });
  if (all_set) return;
  for (const auto& s : on)
    if (!setting_holds(s, cfg)) log::info("kbuild: setting CONFIG_" + s.symbol + "=y (" + s.origin + ")");
  files::write_atomic(dotconfig(c), merge_settings(files::read(dotconfig(c)), on));
  normalize(c);
}

void auto_disable(BuildContext& c, json& disabled) {
  auto cfg = parse_config(files::read(dotconfig(c)));
  std::vector<Setting> off;
  for (const auto* q : c.plan.config_disables)
    for (const auto& sym : q->action.symbols) {
      auto it = cfg.find(sym);
      bool on = it != cfg.end() && (it->second == "y" || (!q->action.only_if_y && it->second == "m"));
      if (!on) continue;
      log::info("kbuild: auto-disabling CONFIG_" + sym + " (quirk " + q->id + ": " +
                q->reason.substr(0, q->reason.find(';')) + ")");
      off.push_back({sym, "n", "quirk " + q->id});
      disabled.push_back({{"symbol", sym}, {"quirk", q->id}});
    }
  if (off.empty()) return;
  files::write_atomic(dotconfig(c), merge_settings(files::read(dotconfig(c)), off));
  normalize(c);
}

void check_requested(BuildContext& c, const std::vector<Setting>& asked, const json& disabled,
                     const KconfigIndex& idx) {
  auto final = parse_config(files::read(dotconfig(c)));
  std::vector<std::string> dropped;
  for (const auto& s : asked) {
    bool by_quirk =
        std::any_of(disabled.begin(), disabled.end(), [&](const json& d) { return d["symbol"] == s.symbol; });
    if (setting_holds(s, final)) continue;
    if (by_quirk) {
      log::warn("CONFIG_" + s.symbol + " (" + s.origin +
                ") was turned off by a capability quirk (see metadata.json)");
      continue;
    }
    dropped.push_back(explain_dropped(s, final, idx));
  }
  if (dropped.empty()) return;
  for (size_t i = 1; i < dropped.size(); ++i) log::warn("also: " + dropped[i]);
  c.meta.doc()["config"]["dropped"] = dropped;
  throw UsageError("a requested option did not stick (nothing compiled yet): " + dropped[0]);
}

// The config step's compiler calls are Kconfig's and the Makefiles' feature probes (cc-option,
// as-instr, --version): ccache can cache none of them ("no input file", "preprocessing failed")
// but would still start, hash the arguments and update its statistics for each, hundreds of
// times. CCACHE_DISABLE makes it exec the compiler at once for the length of the step.
class CcacheOffDuringConfig {
 public:
  explicit CcacheOffDuringConfig(std::map<std::string, std::string>& env) : env_(env) {
    if (auto it = env_.find("CCACHE_DISABLE"); it != env_.end()) before_ = it->second;
    env_["CCACHE_DISABLE"] = "1";
  }
  ~CcacheOffDuringConfig() {
    if (before_)
      env_["CCACHE_DISABLE"] = *before_;
    else
      env_.erase("CCACHE_DISABLE");
  }
  CcacheOffDuringConfig(const CcacheOffDuringConfig&) = delete;
  CcacheOffDuringConfig& operator=(const CcacheOffDuringConfig&) = delete;

 private:
  std::map<std::string, std::string>& env_;
  std::optional<std::string> before_;
};

}  // namespace

void configure(BuildContext& c) {
  auto& cfg = c.meta.doc()["config"];
  auto asked = requested_settings(c.opts, c.plan);
  cfg["enable"] = c.opts.enable;
  cfg["disable"] = c.opts.disable;
  cfg["fragments"] = json::array();
  for (const auto& f : c.opts.fragments) cfg["fragments"].push_back(f.string());
  fs::path stamp = c.plan.build / ".kbuild" / "config-inputs";
  std::string inputs = inputs_text(c);
  if (fs::exists(dotconfig(c)) && files::read_if_exists(stamp).value_or("") == inputs) {
    log::info("config: inputs unchanged, reusing " + dotconfig(c).string() + " (incremental build)");
    cfg["reused"] = true;
  } else {
    fs::remove(stamp);
    CcacheOffDuringConfig probes_uncached(c.runner.env());
    bool need_index = c.opts.config.has_value() || !asked.empty();
    KconfigIndex idx =
        need_index ? scan_kconfig(c.source.tree, c.plan.kernel_arch == "x86_64" ? "x86" : c.plan.kernel_arch)
                   : KconfigIndex{};
    base_config(c, idx);
    arch_enable(c);
    if (!asked.empty()) {
      files::write_atomic(dotconfig(c), merge_settings(files::read(dotconfig(c)), asked));
      normalize(c);
    }
    json disabled = json::array();
    auto_disable(c, disabled);
    cfg["auto_disabled"] = disabled;
    check_requested(c, asked, disabled, idx);
    cfg["reused"] = false;
    files::write_atomic(stamp, inputs);
  }
  files::write_atomic(c.plan.out / ".config", files::read(dotconfig(c)));
  c.meta.save();
}

}  // namespace ksimg::kbuild
