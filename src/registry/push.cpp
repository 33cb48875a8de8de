// Image push (see push.hpp), distribution-spec v1.1 "Pushing blobs" then "Pushing
// Manifests": blobs before the manifest that references them, the manifest by digest
// before any tag (end-7a), Content-Type equal to the manifest's mediaType, and the
// registry's Docker-Content-Digest checked against ours.
#include "registry/push.hpp"

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "oci/index.hpp"
#include "registry/pull.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::registry {

void parallel_for(size_t n, int jobs, const std::function<void(size_t, size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first;
  std::mutex mu;
  auto worker = [&](size_t w) {
    for (size_t i; !failed && (i = next++) < n;) {
      try {
        fn(i, w);
      } catch (...) {
        std::lock_guard lk(mu);
        if (!first) first = std::current_exception();
        failed = true;
      }
    }
  };
  size_t threads = std::min<size_t>(n, static_cast<size_t>(std::max(jobs, 1)));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker, t);
  worker(0);
  for (auto& t : pool) t.join();
  if (first) std::rethrow_exception(first);
}

std::vector<oci::Descriptor> manifest_blobs(const std::string& manifest_bytes) {
  auto j = nlohmann::json::parse(manifest_bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("schemaVersion", 0) != 2 || !j.contains("config") ||
      !j.contains("layers") || !j["layers"].is_array())
    throw IntegrityError("not an image manifest (schemaVersion 2 with config and layers)");
  std::vector<oci::Descriptor> out{oci::Descriptor::from_json(j["config"])};
  std::set<oci::Digest> seen{out[0].digest};
  for (const auto& l : j["layers"]) {
    auto d = oci::Descriptor::from_json(l);
    if (seen.insert(d.digest).second) out.push_back(d);
  }
  return out;
}

namespace {

// Whether a failed manifest PUT says a blob it references is unknown (MANIFEST_BLOB_UNKNOWN,
// or BLOB_UNKNOWN from some registries).
bool blob_unknown(const http::Response& r) {
  if (r.status != 400 && r.status != 404) return false;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) return false;
  for (const auto& e : j["errors"])
    if (e.is_object() &&
        (e.value("code", "") == "MANIFEST_BLOB_UNKNOWN" || e.value("code", "") == "BLOB_UNKNOWN"))
      return true;
  return false;
}

// PUTs the manifest under `ref`. When the registry answers that a blob is unknown although
// HEAD has just found every one, `recheck` makes sure of the blobs again (pushing any that
// are really missing) and the PUT is retried, up to kManifestTries times: distribution's
// filesystem storage rewrites a repository's blob link in place whenever another push of the
// same blob finishes, and a manifest PUT that reads the link mid-write finds no blob
// (concurrency.sh met it with three pushes of one image to one repository).
constexpr int kManifestTries = 3;
}  // namespace

void put_manifest(Session& s, const std::string& repo, const std::string& ref, const oci::Descriptor& m,
                  const std::string& bytes, const std::function<void()>& recheck) {
  http::Request req;
  req.method = "PUT";
  req.url = s.url(repo, "manifests/" + ref);
  req.body = http::Body::bytes(bytes, m.media_type);
  http::Response r;
  for (int attempt = 1;; ++attempt) {
    r = s.send_retry([&] { return req; }, repository_scope(repo, true));
    if (r.ok() || !blob_unknown(r) || attempt == kManifestTries) break;
    log::warn(s.registry().name() + " refused manifest " + ref + " of " + repo + " (" +
              registry_errors(r.body) + ") although it has every blob; checking the blobs and retrying (" +
              std::to_string(attempt) + "/" + std::to_string(kManifestTries - 1) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    recheck();
  }
  if (!r.ok())
    s.fail(req, r,
           blob_unknown(r)
               ? "the manifest was not stored: the registry still lacks a blob after " +
                     std::to_string(kManifestTries) + " tries; push again, or check the registry's storage"
               : "the manifest was not stored");
  auto got = r.header("docker-content-digest");
  if (got && !got->empty() && *got != m.digest.str())
    throw IntegrityError(s.registry().name() + " stored manifest " + m.digest.str() + " of " + repo + " as " +
                         *got + "; it must keep the exact bytes");
}

// The digest `tag` names in the registry (HEAD end-3 and its Docker-Content-Digest), "" when
// the tag is absent.
std::string tag_digest(Session& s, const std::string& repo, const std::string& tag) {
  http::Request req;
  req.method = "HEAD";
  req.url = s.url(repo, "manifests/" + tag);
  req.headers = {{"Accept", manifest_accept()}};
  http::Response r = s.send_retry([&] { return req; }, repository_scope(repo, true));
  return r.status == 200 ? r.header("docker-content-digest").value_or("?") : "";
}

// True when `tag` already names manifest `d`.
bool tag_points_at(Session& s, const std::string& repo, const std::string& tag, const oci::Digest& d) {
  return tag_digest(s, repo, tag) == d.str();
}

// Refuses (exit kImmutableTagExit) when an immutable tag names another manifest than `d`.
void check_immutable(Session& s, const std::string& repo, const std::vector<std::string>& tags,
                     const oci::Digest& d) {
  for (const auto& t : tags) {
    auto have = tag_digest(s, repo, t);
    if (!have.empty() && have != d.str())
      throw Error(static_cast<Exit>(kImmutableTagExit),
                  s.registry().name() + "/" + repo + ":" + t + " is immutable and names " + have + ", not " +
                      d.str() +
                      "; immutable tags never move: find why the same inputs gave another "
                      "image, or push to another repository");
  }
}

namespace {

std::vector<BlobResult> push_blobs(Registry& reg, const oci::Layout& layout, const std::string& repo,
                                   const std::vector<oci::Descriptor>& blobs, const PushOptions& opts,
                                   TransferEvents* ev) {
  std::vector<BlobResult> results(blobs.size());
  parallel_for(blobs.size(), opts.jobs, [&](size_t i, size_t w) {
    Session* s = &reg.worker_session(w);
    const auto& d = blobs[i];
    if (ev) ev->blob_started(d);
    auto sent = [&](uint64_t n) {
      if (ev) ev->blob_progress(d, n);
    };
    results[i] = push_blob(*s, repo, d, layout.blob_path(d.digest), opts.upload, sent);
    if (ev) ev->blob_finished(results[i]);
  });
  return results;
}

}  // namespace

namespace {

// One manifest to send: its descriptor, exact bytes and the blobs it references.
struct Part {
  oci::Descriptor desc;
  std::string bytes;
  std::vector<oci::Descriptor> blobs;
};

// The manifests behind a layout tag: the manifest alone, or every child of an index and then
// the index itself (last, with no blobs of its own). Blobs are checked to be in the layout.
std::vector<Part> parts_of(const oci::Layout& layout, const std::string& tag) {
  auto m = layout.find_tag(tag);
  if (!m) throw UsageError(layout.root().string() + " has no image tagged " + tag);
  std::vector<Part> parts;
  if (oci::is_index_media_type(m->media_type))
    for (auto& c : oci::index_manifests(layout, *m)) {
      std::string b = layout.read_blob(c);
      parts.push_back({c, b, manifest_blobs(b)});
    }
  std::string bytes = layout.read_blob(*m);
  parts.push_back({*m, bytes, parts.empty() ? manifest_blobs(bytes) : std::vector<oci::Descriptor>{}});
  oci::Layout quick = layout;
  quick.verify_existing = false;  // the registry checks every digest; sizes are checked here
  for (const auto& p : parts)
    for (const auto& d : p.blobs)
      if (!quick.has_blob(d.digest, d.size))
        throw IntegrityError("blob " + d.digest.str() + " of " + tag + " is missing from " +
                             layout.root().string() + "; build the image again");
  return parts;
}

std::vector<oci::Descriptor> all_blobs(const std::vector<Part>& parts) {
  std::vector<oci::Descriptor> out;
  std::set<oci::Digest> seen;
  for (const auto& p : parts)
    for (const auto& d : p.blobs)
      if (seen.insert(d.digest).second) out.push_back(d);
  return out;
}

// Every manifest by digest (an index's children before the index), then the index or
// manifest under each tag in `todo`.
void put_manifests(Registry& reg, const oci::Layout& layout, const PushRequest& req, const PushOptions& opts,
                   const std::vector<Part>& parts, const std::vector<std::string>& todo) {
  Session* s = &reg.worker_session(0);
  auto blobs = all_blobs(parts);
  auto recheck = [&] {  // every blob again: HEAD, and a fresh upload of any the registry lacks
    for (const auto& d : blobs)
      if (!blob_exists(*s, req.repository, d.digest, repository_scope(req.repository, true)))
        push_blob(*s, req.repository, d, layout.blob_path(d.digest), opts.upload);
  };
  for (const auto& p : parts) put_manifest(*s, req.repository, p.desc.digest.str(), p.desc, p.bytes, recheck);
  for (const auto& t : todo)
    put_manifest(*s, req.repository, t, parts.back().desc, parts.back().bytes, recheck);
}

}  // namespace

PushResult push_image(Registry& reg, const oci::Layout& layout, const PushRequest& req,
                      const PushOptions& opts, TransferEvents* ev) {
  auto parts = parts_of(layout, req.layout_tag);
  const oci::Descriptor top = parts.back().desc;
  auto blobs = all_blobs(parts);
  PushResult res{req.layout_tag, req.repository, "", top, {}, {}, 0, 0};
  for (size_t i = 0; i + 1 < parts.size(); ++i) res.children.push_back(parts[i].desc);
  check_immutable(reg.worker_session(0), req.repository, req.immutable_tags, top.digest);
  res.blobs = push_blobs(reg, layout, req.repository, blobs, opts, ev);
  Session* s = &reg.worker_session(0);
  for (const auto& b : res.blobs)           // all blobs first, verified, before the manifest that needs them
    if (b.action != BlobAction::skipped &&  // a skipped blob was just found by HEAD
        !blob_exists(*s, req.repository, b.desc.digest, repository_scope(req.repository, true)))
      throw RuntimeError(reg.name() + " does not have blob " + b.desc.digest.str() + " of " + req.repository +
                         " after it was pushed; the manifest was not pushed");
  for (const auto& b : res.blobs)
    (b.action == BlobAction::uploaded ? res.bytes_sent : res.bytes_skipped) +=
        static_cast<uint64_t>(b.desc.size);
  auto tags = req.tags.empty() ? std::vector<std::string>{req.layout_tag} : req.tags;
  tags.insert(tags.end(), req.immutable_tags.begin(), req.immutable_tags.end());
  std::vector<std::string> todo;
  for (const auto& t : tags)
    if (!tag_points_at(*s, req.repository, t, top.digest)) todo.push_back(t);
  if (!todo.empty()) put_manifests(reg, layout, req, opts, parts, todo);
  res.reference = reg.name() + "/" + req.repository + ":" + tags.front() + "@" + top.digest.str();
  return res;
}

}  // namespace ksimg::registry
