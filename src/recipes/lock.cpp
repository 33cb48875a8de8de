// Lock file rendering and parsing (see lock.hpp; schema: docs/lock.md). Rendering fixes the
// key order and sorts maps so that the same lock always gives the same bytes.
#include "recipes/lock.hpp"

#include <nlohmann/json.hpp>

#include "matrix/strict_json.hpp"
#include "oci/digest.hpp"
#include "oci/nar.hpp"
#include "util/error.hpp"

namespace ksimg::recipes {

using ojson = nlohmann::ordered_json;
using matrix::sj::Node;

namespace {

ojson suite_json(const LockedSuite& s) {
  return ojson{{"suite", s.suite},
               {"codename", s.codename},
               {"date", s.date},
               {"valid_until", s.valid_until ? ojson(*s.valid_until) : ojson(nullptr)},
               {"inrelease_sha256", s.inrelease_sha256}};
}

ojson packages_json(const std::vector<LockedPackage>& packages) {
  ojson pk = ojson::array();
  for (const auto& p : packages)
    pk.push_back(ojson{{"name", p.name},
                       {"version", p.version},
                       {"architecture", p.architecture},
                       {"filename", p.filename},
                       {"size", p.size},
                       {"sha256", p.sha256}});
  return pk;
}

ojson recipe_json(const LockedRecipe& r) {
  ojson j{{"kind", r.kind}, {"status", r.status}, {"recipe_sha256", r.recipe_sha256}};
  if (r.kind == "debian") {
    j["suite"] = r.suite;
    j["packages"] = packages_json(r.packages);
    if (!r.hosts.empty()) {
      ojson h = ojson::object();
      for (const auto& [arch, pk] : r.hosts) h[arch] = ojson{{"packages", packages_json(pk)}};
      j["hosts"] = h;
    }
  } else if (r.kind == "tarball") {
    j["urls"] = r.urls;
    j["sha256"] = r.sha256;
  }
  if (!r.reason.empty()) j["reason"] = r.reason;
  if (r.kind == "script" && r.status == "locked") {
    ojson in = ojson::array();
    for (const auto& i : r.inputs) {
      ojson e{{"name", i.name}, {"urls", i.urls}};
      if (!i.sha256.empty()) e["sha256"] = i.sha256;
      if (!i.nar_sha256.empty()) e["nar_sha256"] = i.nar_sha256;
      in.push_back(e);
    }
    j["inputs"] = in;
  }
  return j;
}

uint64_t u64(const Node& n, const std::string& k) {
  Node v = n.at(k);
  if (!v.raw().is_number_unsigned()) v.fail("expected a non-negative integer");
  return v.raw().get<uint64_t>();
}

LockedPackage package_from(const Node& n) {
  n.keys({"name", "version", "architecture", "filename", "size", "sha256"});
  return {n.str("name"),     n.str("version"), n.str("architecture"),
          n.str("filename"), u64(n, "size"),   n.str("sha256")};
}

LockedInput input_from(const Node& n) {
  n.keys({"name", "urls", "sha256", "nar_sha256"});
  LockedInput i{n.str("name"), n.strs("urls"), n.opt_str("sha256").value_or(""),
                n.opt_str("nar_sha256").value_or("")};
  if (i.sha256.empty() && i.nar_sha256.empty()) n.fail("pins the input by neither sha256 nor nar_sha256");
  if (!i.sha256.empty() && !oci::Digest::try_parse("sha256:" + i.sha256))
    n.at("sha256").fail("expected 64 lowercase hex digits");
  if (!i.nar_sha256.empty() && !oci::from_sri(i.nar_sha256))
    n.at("nar_sha256").fail("expected sha256-<base64>");
  return i;
}

LockedRecipe recipe_from(const Node& n) {
  n.keys({"kind", "status", "recipe_sha256", "suite", "packages", "hosts", "urls", "sha256", "inputs",
          "reason"});
  LockedRecipe r;
  r.kind = n.str("kind");
  r.status = n.str("status");
  r.recipe_sha256 = n.str("recipe_sha256");
  if (r.status != "locked" && r.status != "pending")
    n.at("status").fail("expected \"locked\" or \"pending\"");
  if (r.kind == "debian") {
    r.suite = n.str("suite");
    for (const Node& p : n.at("packages").items()) r.packages.push_back(package_from(p));
    if (n.has("hosts")) {
      n.at("hosts").keys({"arm64"});
      for (const auto& [arch, h] : n.at("hosts").members()) {
        h.keys({"packages"});
        auto& pk = r.hosts[arch];
        for (const Node& p : h.at("packages").items()) pk.push_back(package_from(p));
        if (pk.empty()) h.at("packages").fail("lists no packages");
      }
    }
  } else if (r.kind == "tarball") {
    r.urls = n.strs("urls");
    r.sha256 = n.str("sha256");
  } else if (r.kind != "script") {
    n.at("kind").fail("unknown kind (allowed: debian, tarball, script)");
  }
  r.reason = n.opt_str("reason").value_or("");
  if (r.kind == "script" && r.status == "locked") {
    for (const Node& i : n.at("inputs").items()) r.inputs.push_back(input_from(i));
    if (r.inputs.empty()) n.at("inputs").fail("a locked script recipe lists its inputs");
  }
  return r;
}

LockedSuite suite_from(const Node& n) {
  n.keys({"suite", "codename", "date", "valid_until", "inrelease_sha256"});
  return {n.str("suite"), n.str("codename"), n.str("date"), n.opt_str("valid_until"),
          n.str("inrelease_sha256")};
}

}  // namespace

const std::vector<LockedPackage>& LockedRecipe::packages_for(const std::string& arch) const {
  static const std::vector<LockedPackage> none;
  if (arch == "amd64") return packages;
  auto it = hosts.find(arch);
  return it == hosts.end() ? none : it->second;
}

std::string render_lock(const Lock& lock) {
  ojson suites = ojson::object();
  for (const auto& [name, s] : lock.debian_suites) suites[name] = suite_json(s);
  ojson recipes = ojson::object();
  for (const auto& [name, r] : lock.recipes) recipes[name] = recipe_json(r);
  ojson j{{"schema", kLockSchema},
          {"source_date_epoch", lock.source_date_epoch},
          {"debian_suites", suites},
          {"recipes", recipes}};
  return j.dump(2) + "\n";
}

Lock parse_lock(std::string_view text, const std::string& file) {
  auto j = matrix::sj::parse(std::string(text), file);
  Node root(j, file);
  root.keys({"schema", "source_date_epoch", "debian_suites", "recipes"});
  if (root.integer("schema") != kLockSchema)
    root.at("schema").fail("unsupported lock schema (this ksimg reads " + std::to_string(kLockSchema) +
                           "); re-create the lock with 'ksimg lock'");
  Lock lock;
  Node sde = root.at("source_date_epoch");
  if (!sde.raw().is_number_integer() || sde.raw().get<int64_t>() < 0) sde.fail("expected seconds since 1970");
  lock.source_date_epoch = sde.raw().get<int64_t>();
  for (const auto& [name, s] : root.at("debian_suites").members()) lock.debian_suites[name] = suite_from(s);
  for (const auto& [name, r] : root.at("recipes").members()) lock.recipes[name] = recipe_from(r);
  for (const auto& [name, r] : lock.recipes)
    if (r.kind == "debian" && !lock.debian_suites.count(r.suite))
      root.at("recipes").fail(name + " names suite " + r.suite + ", which debian_suites lacks");
  return lock;
}

}  // namespace ksimg::recipes
