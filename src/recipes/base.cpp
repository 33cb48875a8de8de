// The base layer definition and its pinning (see base.hpp). mmdebstrap is the real resolver
// here: ksimg does not re-implement apt's dependency solver; it asks mmdebstrap which
// packages the variant plus the list become, then pins each one against the signed index.
#include "recipes/base.hpp"

#include <algorithm>
#include <map>
#include <regex>

#include "matrix/strict_json.hpp"
#include "oci/digest.hpp"
#include "util/error.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

namespace ksimg::recipes {

using matrix::sj::Node;

std::optional<BaseDefinition> load_base(const matrix::DataFiles& files) {
  const std::string file = "layers/base.json";
  auto it = files.find(file);
  if (it == files.end()) return std::nullopt;
  auto j = matrix::sj::parse(it->second, file);
  Node r(j, file);
  r.keys({"schema", "suite", "variant", "architecture", "packages", "why", "drop"});
  BaseDefinition d{r.str("suite"), r.str("variant"), r.str("architecture"), r.strs("packages"), {}, ""};
  for (const auto& p : d.packages)
    if (!valid_package_name(p)) r.at("packages").fail("\"" + p + "\" is not a Debian package name");
  for (const Node& n : r.at("drop").items()) {
    n.keys({"path", "why"});
    DropPath dp{n.str("path"), n.str("why")};
    if (dp.path.empty() || dp.path[0] == '/' || dp.path.find("..") != std::string::npos)
      n.at("path").fail("must be a relative path without '..'");
    d.drop.push_back(dp);
  }
  d.sha256 = oci::sha256(nlohmann::json(j).dump()).hex();
  return d;
}

std::vector<std::string> mmdebstrap_argv(const BaseDefinition& def, const std::string& mirror,
                                         const std::string& keyring, const std::string& target,
                                         bool simulate) {
  std::vector<std::string> argv{"mmdebstrap", "--variant=" + def.variant,
                                "--architectures=" + def.architecture, "--components=main"};
  if (!def.packages.empty()) {
    std::string inc;
    for (const auto& p : def.packages) inc += (inc.empty() ? "" : ",") + p;
    argv.push_back("--include=" + inc);
  }
  if (!keyring.empty()) argv.push_back("--keyring=" + keyring);
  if (simulate) argv.insert(argv.end(), {"--simulate", "--verbose"});
  argv.insert(argv.end(), {def.suite, target, mirror});
  return argv;
}

std::vector<std::pair<std::string, std::string>> parse_simulated(const std::string& output) {
  static const std::regex inst(R"(^Inst ([a-z0-9][a-z0-9+.-]+)(?::[a-z0-9]+)? \(([^ )]+))");
  std::map<std::string, std::string> found;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    std::string line = output.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    std::smatch m;
    if (std::regex_search(line, m, inst)) found[m[1]] = m[2];
    pos = nl == std::string::npos ? output.size() : nl + 1;
  }
  return {found.begin(), found.end()};
}

std::vector<std::pair<std::string, std::string>> simulate_base(const BaseDefinition& def,
                                                               const std::string& mirror,
                                                               const std::string& keyring) {
  if (!subprocess::find_program("mmdebstrap"))
    throw RuntimeError(
        "mmdebstrap is not installed; it resolves the base layer (apt-get install mmdebstrap)");
  // mmdebstrap wants a target whose parent exists; in simulate mode nothing is written.
  TempDir tmp("ksimg-base-simulate");
  auto argv = mmdebstrap_argv(def, mirror, keyring, (tmp / "root").string(), true);
  auto r = subprocess::run(argv);
  if (!r.ok())
    throw RuntimeError("resolving the base layer failed: " + subprocess::describe_failure(argv, r));
  auto pkgs = parse_simulated(r.out + "\n" + r.err);
  if (pkgs.empty())
    throw RuntimeError(
        "mmdebstrap --simulate listed no packages for the base layer; run it with --verbose to see why");
  return pkgs;
}

Spec base_spec(const BaseDefinition& def, const std::vector<std::string>& packages) {
  Spec s;
  s.name = kBaseName;
  s.kind = "debian";
  s.recipe_sha256 = def.sha256;
  s.debian.suite = def.suite;
  s.debian.packages = packages;
  return s;
}

}  // namespace ksimg::recipes
