// Kind-specific recipe validation (see spec.hpp; schema: recipes/README.md). Uses the
// matrix module's strict JSON reader so messages name the file and the JSON path.
#include "recipes/spec.hpp"

#include <set>

#include "matrix/strict_json.hpp"
#include "oci/digest.hpp"
#include "recipes/script.hpp"
#include "util/error.hpp"

namespace ksimg::recipes {

using matrix::sj::Node;

bool valid_package_name(const std::string& n) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
  };
  if (n.size() < 2 || !((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9'))) return false;
  for (char c : n)
    if (!ok(c)) return false;
  return true;
}

namespace {

const std::map<std::string, std::set<std::string>>& kind_keys() {
  static const std::map<std::string, std::set<std::string>> k{
      {"debian", {"suite", "packages", "install_dir", "hosts"}},
      {"tarball", {"release", "urls", "sha256", "install_dir", "relocate"}},
      {"script", {"builder", "inputs", "steps", "install_dir", "gcc_configure"}}};
  return k;
}

// A key of another kind that this kind does not share (install_dir: all three kinds).
void check_foreign_keys(const Node& r, const std::string& kind) {
  auto mine = kind_keys().find(kind);
  for (const auto& [other, keys] : kind_keys())
    if (other != kind)
      for (const auto& k : keys)
        if (r.has(k) && (mine == kind_keys().end() || !mine->second.count(k)))
          r.at(k).fail("belongs to kind " + other + ", not " + kind + "; remove it");
}

void check_packages(const Node& r, const std::vector<std::string>& packages) {
  if (packages.empty()) r.at("packages").fail("lists no packages");
  std::set<std::string> seen;
  for (const auto& p : packages) {
    if (!valid_package_name(p)) r.at("packages").fail("'" + p + "' is not a Debian package name");
    if (!seen.insert(p).second) r.at("packages").fail("'" + p + "' is listed twice");
  }
}

std::string install_dir_of(const Node& r) {
  std::string d = r.has("install_dir") ? r.str("install_dir") : "";
  if (r.has("install_dir") && !valid_install_dir(d))
    r.at("install_dir").fail("expected an absolute path below /opt/ such as \"/opt/toolchains/<name>\"");
  return d;
}

// "hosts": {"arm64": {}} (the same packages), {"packages": [...], "install_dir": ..., "libc":
// ...} (its own, and the C library it brings when that differs), or {"unavailable": "why"}.
void arm64_host(const Node& r, DebianSpec& d) {
  if (!r.has("hosts")) return;
  Node hosts = r.at("hosts");
  hosts.keys({"arm64"});
  if (!hosts.has("arm64")) return;
  Node a = hosts.at("arm64");
  a.keys({"packages", "install_dir", "libc", "unavailable"});
  if (a.has("unavailable")) {
    if (a.has("packages") || a.has("install_dir") || a.has("libc")) a.fail("\"unavailable\" goes alone");
    d.arm64_unavailable = a.str("unavailable");
    if (d.arm64_unavailable.empty()) a.at("unavailable").fail("say why");
    return;
  }
  if (!a.has("packages")) {
    for (const char* k : {"install_dir", "libc"})
      if (a.has(k)) a.at(k).fail("goes with \"packages\"");
    d.arm64 = DebianSpec::Host{d.packages, d.install_dir};
    return;
  }
  d.arm64 = DebianSpec::Host{a.strs("packages"), install_dir_of(a)};
  check_packages(a, d.arm64->packages);
}

DebianSpec debian_spec(const Node& r) {
  DebianSpec d{r.str("suite"), r.strs("packages"), install_dir_of(r)};
  if (d.suite.empty() || d.suite.find_first_of("/ ") != std::string::npos)
    r.at("suite").fail("expected a Debian suite name such as \"trixie\"");
  check_packages(r, d.packages);
  arm64_host(r, d);
  return d;
}

TarballSpec tarball_spec(const Node& r) {
  TarballSpec t{r.strs("urls"), r.str("sha256"), r.str("release"), r.str("install_dir"), r.str("relocate")};
  if (t.urls.empty()) r.at("urls").fail("lists no URLs");
  for (const auto& u : t.urls)
    if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0)
      r.at("urls").fail("'" + u + "' is not an http(s) URL");
  if (!oci::Digest::try_parse("sha256:" + t.sha256)) r.at("sha256").fail("expected 64 lowercase hex digits");
  if (t.install_dir.empty() || t.install_dir[0] != '/') r.at("install_dir").fail("expected an absolute path");
  return t;
}

}  // namespace

DebianSpec DebianSpec::for_host(const std::string& arch, const std::string& recipe) const {
  if (arch == "amd64") return *this;
  if (arch != "arm64" || !arm64)
    throw UsageError("recipe " + recipe + " has no " + arch + "-hosted toolchain" +
                     (arm64_unavailable.empty() ? "" : " (" + arm64_unavailable + ")") +
                     "; build it for linux/amd64 only");
  DebianSpec d = *this;
  d.packages = arm64->packages;
  d.install_dir = arm64->install_dir;
  return d;
}

std::map<std::string, Spec> load_specs(const matrix::DataFiles& files) {
  std::map<std::string, Spec> out;
  for (const auto& [file, text] : files) {
    if (file.rfind("recipes/", 0) != 0 || !file.ends_with(".json")) continue;
    auto j = matrix::sj::parse(text, file);
    Node r(j, file);
    Spec s{r.str("name"), r.str("kind"), oci::sha256(nlohmann::json(j).dump()).hex(), {}, {}, {}};
    check_foreign_keys(r, s.kind);
    if (s.kind == "debian")
      s.debian = debian_spec(r);
    else if (s.kind == "tarball")
      s.tarball = tarball_spec(r);
    else if (s.kind == "script")
      s.script = script_spec(r);  // recipes/script.cpp
    else
      r.at("kind").fail("unknown kind (allowed: debian, tarball, script)");
    out[s.name] = std::move(s);
  }
  return out;
}

}  // namespace ksimg::recipes
