// Image indexes (see index.hpp), after image-spec image-index.md: mediaType
// application/vnd.oci.image.index.v1+json, one descriptor per manifest with its `platform`
// {os, architecture, variant}, entries sorted by platform so the same manifests always give
// the same index digest, and the created annotation from SOURCE_DATE_EPOCH.
#include "oci/index.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <set>

#include "util/error.hpp"

namespace ksimg::oci {

namespace {

std::string supported_names() {
  std::string out;
  for (const auto& p : supported_platforms()) out += (out.empty() ? "" : ", ") + p.str();
  return out;
}

nlohmann::json parse_json_blob(const Layout& layout, const Descriptor& d) {
  auto j = nlohmann::json::parse(layout.read_blob(d), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw IntegrityError("blob " + d.digest.str() + " is not a JSON object");
  return j;
}

}  // namespace

const std::vector<Platform>& supported_platforms() {
  static const std::vector<Platform> p{{"linux", "amd64", ""}, {"linux", "arm64", ""}};
  return p;
}

Platform parse_supported_platform(std::string_view text) {
  Platform p = Platform::parse(text);
  if (p.architecture == "arm64" && p.variant == "v8") p.variant.clear();
  for (const auto& s : supported_platforms())
    if (s == p) return p;
  throw UsageError("unsupported platform '" + std::string(text) + "': ksimg images run on " +
                   supported_names() + "; use one of those with --platform");
}

std::vector<Platform> parse_platform_list(std::string_view text) {
  std::vector<Platform> out;
  size_t start = 0;
  while (true) {
    auto comma = text.find(',', start);
    auto word = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    Platform p = parse_supported_platform(word);
    if (std::find(out.begin(), out.end(), p) != out.end())
      throw UsageError("--platform names " + p.str() + " twice; list each platform once");
    out.push_back(p);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Platform running_platform() {
  struct utsname u {};
  std::string m = ::uname(&u) == 0 ? u.machine : "";
  if (m == "x86_64") return {"linux", "amd64", ""};
  if (m == "aarch64" || m == "arm64") return {"linux", "arm64", ""};
  throw UsageError("this machine is '" + m + "', which no ksimg image runs on natively; pick an image with " +
                   "--platform (" + supported_names() + ") and an emulator (binfmt)");
}

bool is_index_media_type(std::string_view t) {
  return t == media::index || t == "application/vnd.docker.distribution.manifest.list.v2+json";
}

Descriptor write_index(const Layout& layout, std::vector<Descriptor> manifests, int64_t created) {
  if (manifests.empty()) throw UsageError("an image index needs at least one manifest");
  std::set<std::string> seen;
  for (auto& m : manifests) {
    if (!m.platform)
      throw UsageError("manifest " + m.digest.str() + " has no platform; it cannot go into an index");
    if (!seen.insert(m.platform->str()).second)
      throw UsageError("two manifests for " + m.platform->str() + "; give one image per platform");
    m.annotations.clear();
  }
  std::sort(manifests.begin(), manifests.end(),
            [](const Descriptor& a, const Descriptor& b) { return a.platform->str() < b.platform->str(); });
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : manifests) list.push_back(m.to_json());
  nlohmann::json j = {{"schemaVersion", 2},
                      {"mediaType", std::string(media::index)},
                      {"manifests", list},
                      {"annotations", {{std::string(annotation::created), rfc3339(created)}}}};
  return layout.put_blob(canonical_json(j), media::index);
}

std::vector<Descriptor> index_manifests(const Layout& layout, const Descriptor& d) {
  auto j = parse_json_blob(layout, d);
  if (!j.contains("manifests") || !j["manifests"].is_array())
    throw IntegrityError("index " + d.digest.str() + " has no manifests list");
  std::vector<Descriptor> out;
  for (const auto& m : j["manifests"]) out.push_back(Descriptor::from_json(m));
  return out;
}

Platform manifest_platform(const Layout& layout, const Descriptor& manifest) {
  auto m = parse_json_blob(layout, manifest);
  if (!m.contains("config")) throw IntegrityError("manifest " + manifest.digest.str() + " has no config");
  auto c = parse_json_blob(layout, Descriptor::from_json(m["config"]));
  Platform p{c.value("os", ""), c.value("architecture", ""), c.value("variant", "")};
  if (p.os.empty() || p.architecture.empty())
    throw IntegrityError("the config of manifest " + manifest.digest.str() + " names no os/architecture");
  return p;
}

std::string platform_names(const std::vector<Descriptor>& manifests) {
  std::string out;
  for (const auto& m : manifests) out += (out.empty() ? "" : ", ") + (m.platform ? m.platform->str() : "?");
  return out;
}

Descriptor select_platform(const Layout& layout, const Descriptor& d, const Platform& want,
                           const std::string& what) {
  if (!is_index_media_type(d.media_type)) return d;
  auto children = index_manifests(layout, d);
  for (const auto& c : children)
    if (c.platform && c.platform->os == want.os && c.platform->architecture == want.architecture &&
        (want.variant.empty() || c.platform->variant == want.variant))
      return c;
  throw UsageError(what + " has no " + want.str() + " image (it has " + platform_names(children) +
                   "); pick one of those with --platform");
}

}  // namespace ksimg::oci
