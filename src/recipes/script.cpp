// Script recipe keys and lock entries (see script.hpp; schema: recipes/README.md "kind
// script", lock: docs/lock.md). Every input is pinned in the recipe itself: by sha256 of its
// bytes, or by nar_sha256 of its unpacked tree (a git archive, whose bytes are not stable);
// an input with neither is refused when the recipes load, so no recipe is ever "pending".
#include "recipes/script.hpp"

#include <set>

#include "oci/digest.hpp"
#include "oci/nar.hpp"

namespace ksimg::recipes {

using matrix::sj::Node;

namespace {

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '+' || c == '-';
}

bool all_of(const std::string& s, bool (*ok)(char)) {
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}

bool value_char(char c) {
  return name_char(c) || c == ',' || c == '/' || c == ':' || c == '=';
}

ScriptInput input_spec(const Node& n, std::set<std::string>& seen) {
  n.keys({"name", "urls", "sha256", "nar_sha256"});
  ScriptInput in{n.str("name"), n.strs("urls"), n.has("sha256") ? n.opt_str("sha256") : std::nullopt,
                 n.opt_str("nar_sha256").value_or("")};
  if (!valid_input_name(in.name)) n.at("name").fail("expected a file name ([A-Za-z0-9._+-], no '/')");
  if (!seen.insert(in.name).second) n.at("name").fail("'" + in.name + "' is listed twice");
  if (in.urls.empty()) n.at("urls").fail("lists no URLs");
  for (const auto& u : in.urls)
    if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
      n.at("urls").fail("'" + u + "' is not an http(s) URL");
  if (!in.sha256 && in.nar_sha256.empty())
    n.fail(
        "is not pinned: give \"sha256\" (64 lowercase hex digits of the file) or \"nar_sha256\" "
        "(sha256-<base64> of its unpacked tree, as 'ksimg hash --nar FILE' prints it)");
  if (in.sha256 && !oci::Digest::try_parse("sha256:" + *in.sha256))
    n.at("sha256").fail("expected 64 lowercase hex digits");
  if (!in.nar_sha256.empty() && !oci::from_sri(in.nar_sha256))
    n.at("nar_sha256")
        .fail("expected sha256-<base64 of 32 bytes> (the SRI form flake.lock and 'ksimg hash --nar' write)");
  return in;
}

}  // namespace

bool valid_input_name(const std::string& name) {
  return !name.empty() && name.size() <= 200 && name[0] != '.' && name[0] != '-' && name[0] != '_' &&
         name[0] != '+' && all_of(name, name_char);
}

bool valid_configure_arg(const std::string& arg) {
  if (arg.size() < 3 || arg.rfind("--", 0) != 0) return false;
  auto eq = arg.find('=');
  std::string flag = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  if (flag.empty() || !all_of(flag, name_char)) return false;
  return eq == std::string::npos || all_of(arg.substr(eq + 1), value_char);
}

bool valid_install_dir(const std::string& dir) {
  if (dir.rfind("/opt/", 0) != 0 || dir.back() == '/') return false;
  size_t start = 5;
  while (start <= dir.size()) {
    size_t end = dir.find('/', start);
    std::string c = dir.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (c.empty() || c == "." || c == ".." || !all_of(c, name_char)) return false;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return true;
}

ScriptSpec script_spec(const Node& r) {
  ScriptSpec s;
  s.builder = r.str("builder");
  if (s.builder != "kernel-only" && s.builder != "musl-cross-make")
    r.at("builder").fail("unknown builder (allowed: kernel-only, musl-cross-make)");
  std::set<std::string> seen;
  for (const Node& n : r.at("inputs").items()) s.inputs.push_back(input_spec(n, seen));
  if (s.inputs.empty()) r.at("inputs").fail("lists no inputs; a script recipe pins every source it builds");
  if (r.has("steps")) {
    s.steps = r.strs("steps");
    if (s.steps.empty()) r.at("steps").fail("is empty; omit it to use the builder's template");
  }
  s.install_dir = r.str("install_dir");
  if (!valid_install_dir(s.install_dir))
    r.at("install_dir").fail("expected an absolute path below /opt/ such as \"/opt/toolchains/<name>\"");
  s.gcc_configure = r.strs("gcc_configure");
  for (const auto& a : s.gcc_configure)
    if (!valid_configure_arg(a))
      r.at("gcc_configure").fail("'" + a + "' is not one --flag[=value] argument without spaces or quotes");
  return s;
}

LockedRecipe lock_script(const Spec& s) {
  LockedRecipe r;
  r.kind = "script";
  r.recipe_sha256 = s.recipe_sha256;
  r.status = "locked";  // script_spec refuses an input with neither pin
  for (const auto& in : s.script.inputs)
    r.inputs.push_back({in.name, in.urls, in.sha256.value_or(""), in.nar_sha256});
  return r;
}

}  // namespace ksimg::recipes
