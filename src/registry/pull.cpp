// Image pull (see pull.hpp): distribution-spec v1.1 "Pulling manifests" (end-3, Accept and
// Docker-Content-Digest, which MUST match the content when used), "Pulling blobs" (end-2),
// and image-spec image-layout.md (blobs MUST match their digest). Media types from
// image-spec media-types.md and Docker's manifest v2 schema 2.
#include "registry/pull.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "oci/index.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::registry {

namespace {

constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";

}  // namespace

Fetched get_manifest(Session& s, const std::string& repo, const std::string& ref) {
  http::Request req;
  req.url = s.url(repo, "manifests/" + ref);
  req.headers = {{"Accept", manifest_accept()}};
  req.max_bytes = 4 << 20;
  http::Response r = s.send_retry([&] { return req; }, repository_scope(repo, false));
  if (!r.ok()) s.fail(req, r, r.status == 404 ? "no such image" : "");
  Fetched f{r.body, r.header("content-type").value_or(""), oci::sha256(r.body)};
  auto j = nlohmann::json::parse(f.bytes, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("mediaType") && j["mediaType"].is_string())
    f.media_type = j["mediaType"].get<std::string>();
  auto said = r.header("docker-content-digest");
  if (said && !said->empty() && *said != f.digest.str())
    throw IntegrityError(s.registry().name() + "/" + repo + ":" + ref + ": the manifest hashes to " +
                         f.digest.str() + " but the registry says " + *said + "; refusing it");
  return f;
}

namespace {

bool is_index(const std::string& mt) {
  return mt == oci::media::index || mt == kDockerList;
}

// The manifest digest of platform `host` in an index or manifest list.
std::string pick_platform(const Fetched& idx, const std::string& what, const oci::Platform& host) {
  auto j = nlohmann::json::parse(idx.bytes, nullptr, false);
  if (!j.is_discarded() && j.contains("manifests") && j["manifests"].is_array())
    for (const auto& m : j["manifests"]) {
      auto d = oci::Descriptor::from_json(m);
      if (d.platform && d.platform->os == host.os && d.platform->architecture == host.architecture)
        return d.digest.str();
    }
  throw UsageError(what + " is an index with no " + host.str() + " image; pick another with --platform");
}

}  // namespace

uint64_t fetch_blob(Session& s, const std::string& repo, const oci::Descriptor& d, files::AtomicFile& tmp,
                    const std::function<void(uint64_t)>& progress) {
  http::Request req;
  req.url = s.url(repo, "blobs/" + d.digest.str());
  req.max_bytes = static_cast<uint64_t>(d.size);
  std::unique_ptr<oci::Sha256> h;
  uint64_t got = 0;
  http::Response r;
  try {
    r = s.send_retry(
        [&] {
          if (::ftruncate(tmp.fd(), 0) != 0 || ::lseek(tmp.fd(), 0, SEEK_SET) != 0)
            throw RuntimeError(errno_text("cannot truncate", tmp.temp_path().string()));
          h = std::make_unique<oci::Sha256>();
          got = 0;
          return req;
        },
        repository_scope(repo, false),
        [&](std::string_view b) {
          tmp.write(b);
          h->update(b);
          got += b.size();
          if (progress) progress(got);
        });
  } catch (const http::TooLargeError&) {
    throw IntegrityError("blob " + d.digest.str() + " from " + s.registry().name() + "/" + repo +
                         " is larger than its " + std::to_string(d.size) +
                         " bytes; refusing it, nothing was stored");
  }
  if (!r.ok()) s.fail(req, r, "cannot download the blob");
  auto digest = h->finish();
  if (got != static_cast<uint64_t>(d.size) || digest != d.digest)
    throw IntegrityError("blob " + d.digest.str() + " from " + s.registry().name() + "/" + repo +
                         " arrived as " + std::to_string(got) + " bytes hashing to " + digest.str() +
                         " (expected " + std::to_string(d.size) + " bytes); refusing it, nothing was stored");
  return got;
}

namespace {

// Downloads the blobs the layout lacks into temp files (verified), `jobs` at a time.
std::vector<std::unique_ptr<files::AtomicFile>> download(Registry& reg, const std::string& repo,
                                                         const oci::Layout& layout,
                                                         const std::vector<oci::Descriptor>& blobs, int jobs,
                                                         std::vector<BlobResult>& out, TransferEvents* ev) {
  std::vector<std::unique_ptr<files::AtomicFile>> tmps(blobs.size());
  parallel_for(blobs.size(), jobs, [&](size_t i, size_t w) {
    const auto& d = blobs[i];
    out[i].desc = d;
    if (ev) ev->blob_started(d);
    auto t0 = std::chrono::steady_clock::now();
    if (layout.has_blob(d.digest, d.size)) {
      out[i].action = BlobAction::skipped;
    } else {
      tmps[i] = layout.begin_blob();
      out[i].bytes_sent = fetch_blob(reg.worker_session(w), repo, d, *tmps[i], [&](uint64_t n) {
        if (ev) ev->blob_progress(d, n);
      });
    }
    out[i].seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ev) ev->blob_finished(out[i]);
  });
  return tmps;
}

}  // namespace

const std::string& manifest_accept() {
  static const std::string a = std::string(oci::media::manifest) + ", " + std::string(oci::media::index) +
                               ", " + kDockerManifest + ", " + kDockerList;
  return a;
}

namespace {

// One fetched manifest with its blobs.
struct Got {
  Fetched m;
  std::vector<oci::Descriptor> blobs;
};

// Every child manifest of index `idx`, fetched by digest and checked against its descriptor.
std::vector<Got> fetch_children(Session& s, const Reference& ref, const Fetched& idx) {
  auto j = nlohmann::json::parse(idx.bytes, nullptr, false);
  if (j.is_discarded() || !j.contains("manifests") || !j["manifests"].is_array())
    throw IntegrityError(ref.str() + " is an index without a manifests list; refusing it");
  std::vector<Got> out;
  for (const auto& e : j["manifests"]) {
    auto d = oci::Descriptor::from_json(e);
    Fetched c = get_manifest(s, ref.repository, d.digest.str());
    if (c.digest != d.digest || static_cast<int64_t>(c.bytes.size()) != d.size)
      throw IntegrityError(ref.str() + ": manifest " + d.digest.str() + " arrived as " + c.digest.str() +
                           "; refusing it, nothing was stored");
    if (c.media_type.empty()) c.media_type = d.media_type;
    out.push_back({c, manifest_blobs(c.bytes)});
  }
  return out;
}

// The manifests to store: an index with all its children (kept whole), or one manifest (a
// platform picked out of an index when `platform` is set).
std::vector<Got> resolve(Session& s, const Reference& ref, Fetched m, const PullOptions& opts) {
  if (opts.manifest_size && static_cast<int64_t>(m.bytes.size()) != *opts.manifest_size)
    throw IntegrityError(ref.str() + ": the manifest has " + std::to_string(m.bytes.size()) +
                         " bytes, the pin says " + std::to_string(*opts.manifest_size) +
                         "; refusing it, nothing was stored");
  if (is_index(m.media_type) && opts.platform)
    m = get_manifest(s, ref.repository, pick_platform(m, ref.str(), *opts.platform));
  if (is_index(m.media_type)) {
    auto out = fetch_children(s, ref, m);
    out.push_back({m, {}});
    return out;
  }
  if (m.media_type.empty()) m.media_type = std::string(oci::media::manifest);
  auto blobs = manifest_blobs(m.bytes);
  return {{m, blobs}};
}

}  // namespace

PullResult pull_image(Registry& reg, const Reference& ref, const oci::Layout& layout,
                      const std::string& layout_tag, const PullOptions& opts, TransferEvents* ev) {
  oci::validate_tag(layout_tag);
  Session& s = reg.worker_session(0);
  Fetched top = get_manifest(s, ref.repository, ref.manifest_ref());
  if (ref.digest && top.digest != *ref.digest)
    throw IntegrityError(ref.str() + ": the registry sent a manifest hashing to " + top.digest.str() +
                         "; refusing it, nothing was stored");
  auto parts = resolve(s, ref, top, opts);
  const Fetched& m = parts.back().m;
  std::vector<oci::Descriptor> blobs;
  std::set<oci::Digest> seen;
  for (const auto& p : parts)
    for (const auto& d : p.blobs)
      if (seen.insert(d.digest).second) blobs.push_back(d);
  PullResult res{
      layout_tag, "", {m.media_type, m.digest, static_cast<int64_t>(m.bytes.size()), {}, std::nullopt},
      {},         {}, 0,
      0};
  res.reference =
      reg.name() + "/" + ref.repository + (ref.tag.empty() ? "" : ":" + ref.tag) + "@" + m.digest.str();
  res.blobs.resize(blobs.size());
  auto tmps = download(reg, ref.repository, layout, blobs, opts.jobs, res.blobs, ev);
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (tmps[i]) layout.commit_blob(*tmps[i], blobs[i].digest, blobs[i].size);
    (tmps[i] ? res.bytes_received : res.bytes_skipped) += static_cast<uint64_t>(blobs[i].size);
  }
  for (const auto& p : parts) layout.put_blob(p.m.bytes, p.m.media_type);  // children before the index
  if (parts.size() > 1) res.children = oci::index_manifests(layout, res.manifest);
  layout.set_tag(layout_tag, res.manifest);
  return res;
}

}  // namespace ksimg::registry
