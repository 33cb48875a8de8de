// CycloneDX 1.5 SBOM of a cell image (see sbom.hpp), following the CycloneDX 1.5 JSON schema
// (bom-1.5.schema.json) and purl-spec's deb type. Checked against the schema that
// @cyclonedx/cyclonedx-library ships (tests/integration/sbom.sh).
#include "layers/sbom.hpp"

#include <ctime>
#include <map>

#include "oci/digest.hpp"
#include "recipes/base.hpp"
#include "util/error.hpp"

namespace ksimg::layers {

using json = nlohmann::ordered_json;

std::string debian_distro(const std::string& codename) {
  static const std::map<std::string, std::string> n = {
      {"jessie", "8"},    {"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"},
      {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},  {"duke", "15"}};
  auto it = n.find(codename);
  return it == n.end() ? "" : "debian-" + it->second;
}

namespace {

std::string pct(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == ':')
      o += "%3A";
    else if (c == '+')
      o += "%2B";
    else
      o += c;
  }
  return o;
}

json property(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

json sha256_hash(const std::string& hex) {
  return json::array({{{"alg", "SHA-256"}, {"content", hex}}});
}

std::string iso_time(int64_t epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A urn:uuid (version 5 layout) from the sha256 of `text`: the same document, the same serial.
std::string serial_of(const std::string& text) {
  std::string h = oci::sha256(text).hex().substr(0, 32);
  h[12] = '5';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return "urn:uuid:" + h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

const recipes::LockedRecipe& locked(const SbomInput& in, const std::string& name) {
  auto it = in.lock->recipes.find(name);
  if (it == in.lock->recipes.end() || it->second.status != "locked")
    throw UsageError("the lock does not pin " + name +
                     "; run 'ksimg lock' first (the SBOM comes from the lock)");
  return it->second;
}

void add_debs(json& comps, const recipes::LockedRecipe& r, const std::string& name, const std::string& layer,
              const std::string& host_arch) {
  std::string distro = debian_distro(r.suite);
  const auto& pkgs = r.packages_for(host_arch);
  if (pkgs.empty())
    throw UsageError("the lock has no " + host_arch + " pins for " + name + "; run 'ksimg lock --recipe " +
                     name + "' (the SBOM of a linux/" + host_arch + " image comes from them)");
  for (const auto& p : pkgs) {
    json c = {
        {"type", "library"},
        {"bom-ref", layer + ":" + p.name},
        {"name", p.name},
        {"version", p.version},
        {"hashes", sha256_hash(p.sha256)},
        {"purl", deb_purl(p, distro.empty() ? r.suite : distro)},
        {"properties", json::array({property("ksimg:layer", layer), property("ksimg:debian-suite", r.suite),
                                    property("ksimg:pool-path", p.filename)})}};
    comps.push_back(c);
  }
}

// A tarball or script toolchain: the toolchain itself, and each pinned input as a file.
void add_toolchain(json& comps, const SbomInput& in, const recipes::LockedRecipe& r) {
  json tc = {
      {"type", "application"},
      {"bom-ref", "toolchain:" + in.recipe->name},
      {"name", in.recipe->name},
      {"version", in.recipe->gcc},
      {"description", in.recipe->source() + " " + in.recipe->triple + " gcc " + in.recipe->gcc + " (" +
                          in.recipe->libc + ")"},
      {"properties", json::array({property("ksimg:layer", "toolchain"), property("ksimg:kind", r.kind)})}};
  if (r.kind == "tarball") {
    tc["hashes"] = sha256_hash(r.sha256);
    json refs = json::array();
    for (const auto& u : r.urls) refs.push_back({{"type", "distribution"}, {"url", u}});
    tc["externalReferences"] = refs;
  }
  comps.push_back(tc);
  for (const auto& i : r.inputs) {
    json c = {{"type", "file"},
              {"bom-ref", "input:" + i.name},
              {"name", i.name},
              {"hashes", sha256_hash(i.sha256)},
              {"properties", json::array({property("ksimg:layer", "toolchain"),
                                          property("ksimg:built-into", in.recipe->name)})}};
    json refs = json::array();
    for (const auto& u : i.urls) refs.push_back({{"type", "distribution"}, {"url", u}});
    if (!refs.empty()) c["externalReferences"] = refs;
    comps.push_back(c);
  }
}

json launcher(const SbomInput& in) {
  json c = {{"type", "application"},
            {"bom-ref", "launcher:kbuild"},
            {"name", "kbuild"},
            {"version", in.tool_version},
            {"description", "ksimg's in-image build program and matrix data"},
            {"properties", json::array({property("ksimg:layer", "launcher")})}};
  if (in.launcher_diff_id.size() > 7)
    c["properties"].push_back(property("ksimg:diff-id", in.launcher_diff_id));
  return c;
}

json image_component(const SbomInput& in) {
  json c = {{"type", "container"}, {"bom-ref", "image"}, {"name", "kernelsmith"}, {"version", in.tag}};
  if (!in.image_digest.empty()) c["purl"] = "pkg:oci/kernelsmith@" + pct(in.image_digest) + "?tag=" + in.tag;
  c["properties"] =
      json::array({property("ksimg:cell", in.cell->key()), property("ksimg:recipe", in.recipe->name),
                   property("ksimg:platform", "linux/" + in.host_arch)});
  return c;
}

}  // namespace

std::string deb_purl(const recipes::LockedPackage& p, const std::string& distro) {
  return "pkg:deb/debian/" + p.name + "@" + pct(p.version) + "?arch=" + p.architecture + "&distro=" + distro;
}

json cyclonedx_sbom(const SbomInput& in) {
  json comps = json::array();
  add_debs(comps, locked(in, recipes::kBaseName), recipes::kBaseName, "base", in.host_arch);
  const auto& tc = locked(in, in.recipe->name);
  if (tc.kind == "debian")
    add_debs(comps, tc, in.recipe->name, "toolchain", in.host_arch);
  else if (in.host_arch != "amd64")
    throw UsageError(in.recipe->name + " has no linux/" + in.host_arch + " build (" + tc.kind +
                     " toolchains are x86_64-hosted), so there is no such image to describe");
  else
    add_toolchain(comps, in, tc);
  comps.push_back(launcher(in));
  json refs = json::array();
  for (const auto& c : comps) refs.push_back(c["bom-ref"]);
  json deps = json::array({{{"ref", "image"}, {"dependsOn", refs}}});
  json doc = {{"bomFormat", "CycloneDX"}, {"specVersion", "1.5"}, {"serialNumber", ""}, {"version", 1}};
  doc["metadata"] = {
      {"timestamp", iso_time(in.lock->source_date_epoch)},
      {"tools",
       {{"components",
         json::array({{{"type", "application"}, {"name", "ksimg"}, {"version", in.tool_version}}})}}},
      {"component", image_component(in)}};
  doc["components"] = comps;
  doc["dependencies"] = deps;
  doc["serialNumber"] = serial_of(doc.dump());
  return doc;
}

}  // namespace ksimg::layers
