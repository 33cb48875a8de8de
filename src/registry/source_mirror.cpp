// The source mirror (see source_mirror.hpp; docs/mirror.md). Artifacts follow image-spec 1.1
// "Guidelines for artifact usage": an image manifest with artifactType and the empty config
// descriptor ({} , application/vnd.oci.empty.v1+json), which registries without 1.1 support
// (docker-registry 2.8) store like any manifest. Pushing reuses blob_push (HEAD, mount, upload)
// and push's manifest PUT; fetching reuses pull's verified manifest and blob downloads.
#include "registry/source_mirror.hpp"

#include <nlohmann/json.hpp>

#include "oci/descriptor.hpp"
#include "registry/pull.hpp"
#include "registry/push.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

namespace ksimg::registry {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "dev.ksimg.source.";

oci::Descriptor empty_config() {
  return {std::string(kEmptyConfigType), oci::sha256("{}"), 2, {}, std::nullopt};
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// The source's layer descriptor in the tag's manifest, when that manifest is a source
// artifact carrying `e`'s pins; nullopt when the tag is absent.
std::optional<oci::Descriptor> layer_for(Session& s, const std::string& repo, const SourceEntry& e,
                                         bool& other) {
  other = false;
  http::Request head;
  head.method = "HEAD";
  head.url = s.url(repo, "manifests/" + source_tag(e.name));
  head.headers = {{"Accept", manifest_accept()}};
  if (s.send_retry([&] { return head; }, repository_scope(repo, false)).status == 404) return std::nullopt;
  auto m = get_manifest(s, repo, source_tag(e.name));
  auto j = nlohmann::json::parse(m.bytes, nullptr, false);
  other = true;
  if (j.is_discarded() || j.value("artifactType", "") != kSourceArtifactType || !j.contains("layers") ||
      !j["layers"].is_array() || j["layers"].size() != 1)
    return std::nullopt;
  auto ann = j.value("annotations", nlohmann::json::object());
  auto layer = oci::Descriptor::from_json(j["layers"][0]);
  if (!e.sha256.empty() && layer.digest.hex() != e.sha256) return std::nullopt;
  if (e.sha256.empty() && ann.value(std::string(kPrefix) + "nar_sha256", "") != e.nar_sha256)
    return std::nullopt;
  other = false;
  return layer;
}

}  // namespace

std::string source_tag(const std::string& name) {
  std::string t;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_';
    t.push_back(ok ? c : '_');
  }
  if (t.empty() || t[0] == '.' || t[0] == '-') t = "_" + t;
  return t.substr(0, 128);
}

std::string source_manifest(const SourceEntry& e, const oci::Digest& blob, int64_t size) {
  oci::Descriptor layer{
      std::string(kSourceLayerType), blob, size, {{"org.opencontainers.image.title", e.name}}, std::nullopt};
  nlohmann::json ann{{std::string(kPrefix) + "name", e.name}, {std::string(kPrefix) + "urls", join(e.urls)}};
  if (!e.sha256.empty()) ann[std::string(kPrefix) + "sha256"] = e.sha256;
  if (!e.nar_sha256.empty()) ann[std::string(kPrefix) + "nar_sha256"] = e.nar_sha256;
  nlohmann::json m{{"schemaVersion", 2},
                   {"mediaType", std::string(oci::media::manifest)},
                   {"artifactType", std::string(kSourceArtifactType)},
                   {"config", empty_config().to_json()},
                   {"layers", nlohmann::json::array({layer.to_json()})},
                   {"annotations", ann}};
  return m.dump();  // nlohmann sorts keys: the same source always gives the same manifest
}

SourcePushResult push_source(Registry& reg, const std::string& repo, const SourceEntry& e,
                             const fs::path& file) {
  uint64_t size = 0;
  oci::Digest blob = oci::sha256_file(file, &size);
  if (!e.sha256.empty() && blob.hex() != e.sha256)
    throw IntegrityError(file.string() + " hashes to " + blob.hex() + ", not the pinned " + e.sha256 +
                         " of " + e.name + "; refusing to mirror it");
  Session& s = reg.worker_session(0);
  TempDir tmp("ksimg-mirror");
  files::write_atomic(tmp / "config", "{}");
  push_blob(s, repo, empty_config(), tmp / "config", {});
  auto layer = push_blob(
      s, repo, {std::string(kSourceLayerType), blob, static_cast<int64_t>(size), {}, std::nullopt}, file, {});
  std::string bytes = source_manifest(e, blob, static_cast<int64_t>(size));
  oci::Descriptor m{std::string(oci::media::manifest),
                    oci::sha256(bytes),
                    static_cast<int64_t>(bytes.size()),
                    {},
                    std::nullopt};
  std::string tag = source_tag(e.name);
  if (!tag_points_at(s, repo, tag, m.digest)) {
    put_manifest(s, repo, m.digest.str(), m, bytes, [] {});
    put_manifest(s, repo, tag, m, bytes, [] {});
  }
  return {tag, m.digest, layer.action, size};
}

SourceState check_source(Registry& reg, const std::string& repo, const SourceEntry& e) {
  Session& s = reg.worker_session(0);
  if (!e.sha256.empty())
    return blob_exists(s, repo, oci::Digest::from_hex(e.sha256), repository_scope(repo, false))
               ? SourceState::present
               : SourceState::missing;
  bool other = false;
  if (layer_for(s, repo, e, other)) return SourceState::present;
  return other ? SourceState::other : SourceState::missing;
}

bool fetch_source(Registry& reg, const std::string& repo, const SourceEntry& e, const fs::path& dest) {
  Session& s = reg.worker_session(0);
  bool other = false;
  std::optional<oci::Descriptor> d = layer_for(s, repo, e, other);
  if (!d && !e.sha256.empty()) {  // by digest, whatever the tags say
    http::Request head;
    head.method = "HEAD";
    head.url = s.url(repo, "blobs/sha256:" + e.sha256);
    auto r = s.send_retry([&] { return head; }, repository_scope(repo, false));
    if (r.status == 404) return false;
    if (!r.ok()) s.fail(head, r, "cannot look up the blob");
    auto len = r.header("content-length");
    d = oci::Descriptor{std::string(kSourceLayerType),
                        oci::Digest::from_hex(e.sha256),
                        len ? std::stoll(*len) : 0,
                        {},
                        std::nullopt};
  }
  if (!d) return false;
  files::AtomicFile tmp(dest);
  fetch_blob(s, repo, *d, tmp);
  tmp.commit();
  return true;
}

}  // namespace ksimg::registry
