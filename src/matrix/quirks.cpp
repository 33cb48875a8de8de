// Loads matrix/quirks.json and matches quirk triggers (see quirks.hpp; schema in
// matrix/README.md "quirks.json"; each quirk's evidence is in the data).
#include "matrix/quirks.hpp"

#include <algorithm>
#include <set>

#include "matrix/strict_json.hpp"
#include "util/error.hpp"

namespace ksimg::matrix {

using sj::Node;

namespace {

const char* const kFile = "matrix/quirks.json";

const std::map<std::string, QuirkKind>& kinds() {
  static const std::map<std::string, QuirkKind> k = {{"wrapper_flag", QuirkKind::wrapper_flag},
                                                     {"make_var", QuirkKind::make_var},
                                                     {"hostcflags", QuirkKind::hostcflags},
                                                     {"env", QuirkKind::env},
                                                     {"config_enable", QuirkKind::config_enable},
                                                     {"config_disable", QuirkKind::config_disable},
                                                     {"config_normalize", QuirkKind::config_normalize},
                                                     {"patch", QuirkKind::patch}};
  return k;
}

Version version_at(const Node& n, const std::string& k) {
  try {
    return parse_version(n.str(k));
  } catch (const UsageError& e) {
    n.at(k).fail(e.what());
  }
}

void check_names(const Node& n, const std::vector<std::string>& names, const std::set<std::string>& known,
                 const std::string& what) {
  for (const auto& x : names)
    if (!known.count(x)) n.fail("unknown " + what + " \"" + x + "\"");
}

QuirkTrigger load_trigger(const Node& t, const Matrix& m) {
  t.keys({"eras", "arches", "sources", "kernel", "gcc"});
  QuirkTrigger r{t.strs("eras"), t.strs("arches"), t.strs("sources"), {}, {}, {}, {}};
  std::set<std::string> eras, arches(m.arch_order.begin(), m.arch_order.end());
  for (const auto& e : m.eras) eras.insert(e.name);
  check_names(t, r.eras, eras, "era");
  check_names(t, r.arches, arches, "arch");
  check_names(t, r.sources, {"debian", "bootlin", "script"}, "toolchain source");
  if (t.has("kernel")) {
    Node k = t.at("kernel");
    k.keys({"from", "below"});
    if (k.opt_str("from")) r.kernel_from = version_at(k, "from");
    if (k.opt_str("below")) r.kernel_below = version_at(k, "below");
    if (r.kernel_from && r.kernel_below && !r.kernel_from->before(*r.kernel_below))
      k.fail("\"from\" must be below \"below\"");
  }
  if (t.has("gcc")) {
    Node g = t.at("gcc");
    g.keys({"from", "below"});
    r.gcc_from = g.opt_str("from");
    r.gcc_below = g.opt_str("below");
  }
  return r;
}

QuirkAction load_action(const Node& a) {
  a.keys({"kind", "name", "value", "vars", "symbols", "only_if_y", "patch"});
  auto k = kinds().find(a.str("kind"));
  if (k == kinds().end())
    a.at("kind").fail(
        "unknown action kind (allowed: wrapper_flag, make_var, hostcflags, env, config_enable, "
        "config_disable, config_normalize, patch)");
  QuirkAction r;
  r.kind = k->second;
  switch (r.kind) {
    case QuirkKind::make_var:
      r.name = a.str("name");
      [[fallthrough]];
    case QuirkKind::wrapper_flag:
    case QuirkKind::hostcflags:
      r.value = a.str("value");
      break;
    case QuirkKind::config_normalize:
      if (a.str("value") == name(Normalize::oldconfig))
        r.normalize = Normalize::oldconfig;
      else if (a.str("value") != name(Normalize::olddefconfig))
        a.at("value").fail("unknown normalize target (allowed: olddefconfig, oldconfig)");
      break;
    case QuirkKind::env:
      for (const auto& [name, v] : a.at("vars").members()) r.vars[name] = a.at("vars").str(name);
      break;
    case QuirkKind::config_enable:
      r.symbols = a.strs("symbols");
      if (r.symbols.empty()) a.fail("config_enable needs \"symbols\"");
      break;
    case QuirkKind::config_disable:
      r.symbols = a.strs("symbols");
      r.only_if_y = a.boolean("only_if_y", true);
      if (r.symbols.empty()) a.fail("config_disable needs \"symbols\"");
      break;
    case QuirkKind::patch:
      r.patch = a.str("patch");
      const auto& kp = known_patches();
      if (std::find(kp.begin(), kp.end(), r.patch) == kp.end()) a.at("patch").fail("unknown patch");
      break;
  }
  return r;
}

}  // namespace

const std::vector<std::string>& known_patches() {
  static const std::vector<std::string> p = {"compiler_gcc_header_shim", "timeconst_defined_array"};
  return p;
}

const char* name(Normalize n) {
  return n == Normalize::oldconfig ? "oldconfig" : "olddefconfig";
}

std::string kind_name(QuirkKind k) {
  for (const auto& [name, v] : kinds())
    if (v == k) return name;
  return "?";
}

std::vector<Quirk> load_quirks(const DataFiles& files, const Matrix& m) {
  auto it = files.find(kFile);
  if (it == files.end()) throw DataError(std::string(kFile) + " is missing from the data");
  auto doc = sj::parse(it->second, kFile);
  Node root(doc, kFile);
  root.keys({"schema", "quirks"});
  std::vector<Quirk> out;
  std::set<std::string> ids;
  for (const Node& q : root.at("quirks").items()) {
    q.keys({"id", "trigger", "action", "reason", "evidence"});
    Quirk x{q.str("id"), q.str("reason"), q.str("evidence"), load_trigger(q.at("trigger"), m),
            load_action(q.at("action"))};
    if (!ids.insert(x.id).second) q.at("id").fail("duplicate quirk id " + x.id);
    out.push_back(std::move(x));
  }
  return out;
}

const std::vector<Quirk>& builtin_quirks() {
  static const std::vector<Quirk> q = load_quirks(data_files(""), builtin());
  return q;
}

bool matches(const QuirkTrigger& t, const QuirkContext& c) {
  auto in = [](const std::vector<std::string>& set, const std::string& x) {
    return set.empty() || std::find(set.begin(), set.end(), x) != set.end();
  };
  if (!in(t.eras, c.era) || !in(t.arches, c.arch) || !in(t.sources, c.source)) return false;
  if (t.kernel_from && c.kernel.before(*t.kernel_from)) return false;
  if (t.kernel_below && !c.kernel.before(*t.kernel_below)) return false;
  if (t.gcc_from && compare_dotted(c.gcc, *t.gcc_from) < 0) return false;
  if (t.gcc_below && compare_dotted(c.gcc, *t.gcc_below) >= 0) return false;
  return true;
}

std::vector<const Quirk*> select_quirks(const std::vector<Quirk>& all, const QuirkContext& c) {
  std::vector<const Quirk*> out;
  for (const auto& q : all)
    if (matches(q.trigger, c)) out.push_back(&q);
  return out;
}

}  // namespace ksimg::matrix
