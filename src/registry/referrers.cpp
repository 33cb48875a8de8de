// Referrers: push and list (see referrers.hpp). The artifact manifest follows image-spec 1.1
// "Guidelines for Artifact Usage" (artifactType set, config = the empty descriptor `{}`, one
// layer); the tag schema follows distribution-spec 1.1 "Referrers Tag Schema" (tag
// `<alg>-<ref>`, an image index of descriptors carrying artifactType and annotations).
#include "registry/referrers.hpp"

#include <nlohmann/json.hpp>
#include <thread>

#include "oci/index.hpp"
#include "registry/auth.hpp"
#include "registry/blob_push.hpp"
#include "registry/pull.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

namespace ksimg::registry {

namespace {

using json = nlohmann::json;
constexpr const char* kEmptyType = "application/vnd.oci.empty.v1+json";

struct Got {
  long status = 0;
  std::string body;
  std::optional<std::string> subject_header;
};

Got get(Session& s, const std::string& repo, const std::string& suffix, const std::string& accept) {
  http::Request req;
  req.url = s.url(repo, suffix);
  req.headers = {{"Accept", accept}};
  req.max_bytes = 4 << 20;
  http::Response r = s.send_retry([&] { return req; }, repository_scope(repo, false));
  if (r.status != 404 && !r.ok()) s.fail(req, r);
  return {r.status, r.body, std::nullopt};
}

Got put_manifest(Session& s, const std::string& repo, const std::string& ref, const std::string& type,
                 const std::string& bytes) {
  http::Request req;
  req.method = "PUT";
  req.url = s.url(repo, "manifests/" + ref);
  req.body = http::Body::bytes(bytes, type);
  http::Response r = s.send_retry([&] { return req; }, repository_scope(repo, true));
  if (!r.ok()) s.fail(req, r, "the artifact manifest was not stored");
  return {r.status, "", r.header("oci-subject")};
}

void put_blob(Session& s, const std::string& repo, const oci::Descriptor& d, const std::string& bytes) {
  TempDir t("ksimg-referrer");
  files::write_atomic(t / "blob", bytes);
  push_blob(s, repo, d, t / "blob", UploadOptions{});
}

oci::Descriptor descriptor_of(const std::string& type, const std::string& bytes) {
  oci::Descriptor d;
  d.media_type = type;
  d.digest = oci::sha256(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

std::string schema_tag(const oci::Digest& d) {
  return "sha256-" + d.hex();
}

// Adds `entry` to the tag schema's index of `subject` (read, add, write; re-read and retried
// when another writer changed it meanwhile).
void add_to_tag_index(Session& s, const std::string& repo, const oci::Digest& subject, const json& entry) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    Got cur = get(s, repo, "manifests/" + schema_tag(subject), std::string(oci::media::index));
    json idx = {{"schemaVersion", 2}, {"mediaType", oci::media::index}, {"manifests", json::array()}};
    if (cur.status == 200) idx = json::parse(cur.body, nullptr, false);
    if (idx.is_discarded() || !idx.contains("manifests") || !idx["manifests"].is_array())
      throw IntegrityError(s.registry().name() + "/" + repo + ":" + schema_tag(subject) +
                           " is not an image index; delete that tag and push again");
    for (const auto& m : idx["manifests"])
      if (m.value("digest", "") == entry["digest"]) return;  // already listed
    idx["manifests"].push_back(entry);
    std::string bytes = oci::canonical_json(idx);
    put_manifest(s, repo, schema_tag(subject), std::string(oci::media::index), bytes);
    Got check = get(s, repo, "manifests/" + schema_tag(subject), std::string(oci::media::index));
    if (check.status == 200 && check.body.find(entry["digest"].get<std::string>()) != std::string::npos)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));  // lost a race: again
  }
  throw RuntimeError(s.registry().name() + "/" + repo + ": could not add the referrer to " +
                     schema_tag(subject) + " (other writers kept changing it); push again");
}

}  // namespace

ReferrerPush push_referrer(Registry& reg, const std::string& repo, const oci::Descriptor& subject,
                           const std::string& artifact_type, const std::string& blob) {
  Session& s = reg.worker_session(0);
  auto empty = descriptor_of(kEmptyType, "{}");
  auto layer = descriptor_of(artifact_type, blob);
  put_blob(s, repo, empty, "{}");
  put_blob(s, repo, layer, blob);
  json subj = {{"mediaType", subject.media_type}, {"digest", subject.digest.str()}, {"size", subject.size}};
  json m = {{"schemaVersion", 2},
            {"mediaType", oci::media::manifest},
            {"artifactType", artifact_type},
            {"config", empty.to_json()},
            {"layers", json::array({layer.to_json()})},
            {"subject", subj}};
  std::string bytes = oci::canonical_json(m);
  ReferrerPush res{descriptor_of(std::string(oci::media::manifest), bytes), false};
  Got put = put_manifest(s, repo, res.manifest.digest.str(), std::string(oci::media::manifest), bytes);
  res.api = put.subject_header.has_value() && *put.subject_header == subject.digest.str();
  if (res.api) return res;
  json entry = res.manifest.to_json();
  entry["artifactType"] = artifact_type;
  add_to_tag_index(s, repo, subject.digest, entry);
  return res;
}

std::vector<oci::Descriptor> list_referrers(Registry& reg, const std::string& repo,
                                            const oci::Digest& subject, const std::string& artifact_type,
                                            bool* used_api) {
  Session& s = reg.worker_session(0);
  std::string type_q;  // '+' would read as a space in a query: percent-encoded
  for (char c : artifact_type) type_q += c == '+' ? std::string("%2B") : std::string(1, c);
  Got api =
      get(s, repo, "referrers/" + subject.str() + "?artifactType=" + type_q, std::string(oci::media::index));
  bool have_api = api.status == 200;
  if (used_api) *used_api = have_api;
  Got idx = have_api ? api : get(s, repo, "manifests/" + schema_tag(subject), std::string(oci::media::index));
  std::vector<oci::Descriptor> out;
  if (idx.status != 200) return out;
  auto j = json::parse(idx.body, nullptr, false);
  if (j.is_discarded() || !j.contains("manifests") || !j["manifests"].is_array()) return out;
  for (const auto& m : j["manifests"])
    if (m.value("artifactType", "") == artifact_type) out.push_back(oci::Descriptor::from_json(m));
  return out;
}

oci::Descriptor manifest_descriptor(Registry& reg, const std::string& repo, const std::string& reference) {
  Session& s = reg.worker_session(0);
  Got g = get(s, repo, "manifests/" + reference, manifest_accept());
  if (g.status != 200)
    throw UsageError(reg.name() + "/" + repo + " has no manifest " + reference + "; check the reference");
  auto j = json::parse(g.body, nullptr, false);
  std::string type = !j.is_discarded() && j.contains("mediaType") ? j["mediaType"].get<std::string>() : "";
  return descriptor_of(type, g.body);
}

oci::Descriptor platform_descriptor(Registry& reg, const std::string& repo, const std::string& reference,
                                    const oci::Platform& platform) {
  auto d = manifest_descriptor(reg, repo, reference);
  if (!oci::is_index_media_type(d.media_type)) return d;
  Got g = get(reg.worker_session(0), repo, "manifests/" + d.digest.str(), manifest_accept());
  auto j = json::parse(g.body, nullptr, false);
  if (g.status != 200 || oci::sha256(g.body) != d.digest || j.is_discarded() || !j.contains("manifests") ||
      !j["manifests"].is_array())
    throw IntegrityError(reg.name() + "/" + repo + ": index " + d.digest.str() +
                         " is missing, does not match its digest or lists no manifests");
  std::vector<oci::Descriptor> children;
  for (const auto& m : j["manifests"]) {
    children.push_back(oci::Descriptor::from_json(m));
    const auto& p = children.back().platform;
    if (p && p->os == platform.os && p->architecture == platform.architecture) return children.back();
  }
  throw UsageError(reg.name() + "/" + repo + ":" + reference + " is an index of " +
                   oci::platform_names(children) + ", without " + platform.str() +
                   "; pick one of those with --platform");
}

std::string artifact_blob(Registry& reg, const std::string& repo, const oci::Descriptor& artifact) {
  Session& s = reg.worker_session(0);
  Got g = get(s, repo, "manifests/" + artifact.digest.str(), std::string(oci::media::manifest));
  if (g.status != 200 || oci::sha256(g.body) != artifact.digest)
    throw IntegrityError(reg.name() + "/" + repo + ": artifact manifest " + artifact.digest.str() +
                         " is missing or does not match its digest");
  auto j = json::parse(g.body, nullptr, false);
  if (j.is_discarded() || !j.contains("layers") || !j["layers"].is_array() || j["layers"].empty())
    throw IntegrityError(reg.name() + "/" + repo + ": artifact " + artifact.digest.str() + " has no layer");
  auto layer = oci::Descriptor::from_json(j["layers"][0]);
  Got b = get(s, repo, "blobs/" + layer.digest.str(), "*/*");
  if (b.status != 200 || oci::sha256(b.body) != layer.digest)
    throw IntegrityError(reg.name() + "/" + repo + ": blob " + layer.digest.str() +
                         " does not match its digest");
  return b.body;
}

}  // namespace ksimg::registry
