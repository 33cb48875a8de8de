// One blob upload (see blob_push.hpp), following distribution-spec v1.1: "Checking if content
// exists" (HEAD end-2), "Mounting a blob from another repository" (end-11: 201 mounted, 202
// is an upload session), "Pushing a blob monolithically" (POST, then PUT ?digest= end-6) and
// "Pushing a blob in chunks" (PATCH end-5 with Content-Range, OCI-Chunk-Min-Length). Location
// headers are used verbatim, resolved against the request URL when relative (RFC 3986 §5).
#include "registry/blob_push.hpp"

#include <algorithm>
#include <chrono>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::registry {

namespace {

// State of one push_blob call, shared by its attempts.
struct Pusher {
  Session& s;
  const std::string& repo;
  const oci::Descriptor& desc;
  const std::filesystem::path& file;
  const UploadOptions& opts;
  const SentFn& sent;
  std::string scope;
  BlobResult result;
  int tries = 0;
  bool committed = false;  // a commit PUT was sent (its answer may have been lost)

  http::Response attempt();
  http::Response start(std::string& location, uint64_t& min_chunk);
  http::Response monolithic(const std::string& location);
  http::Response chunked(std::string location, uint64_t min_chunk);
  std::string mount_source();
};

http::Response synthetic(long status) {
  http::Response r;
  r.status = status;
  return r;
}

std::string location_of(const http::Request& req, const http::Response& r) {
  auto loc = r.header("location");
  if (!loc || loc->empty())
    throw RuntimeError(req.method + " " + req.url + ": the registry sent no Location");
  return http::resolve_url(req.url, *loc);
}

uint64_t header_number(const http::Response& r, const char* name) {
  auto v = r.header(name);
  if (!v || v->empty() || !std::all_of(v->begin(), v->end(), ::isdigit) || v->size() > 15) return 0;
  return std::stoull(*v);
}

// A repository among opts.mount_from that has the blob (HEAD), or "".
std::string Pusher::mount_source() {
  for (size_t i = 0; i < opts.mount_from.size() && i < 3; ++i) {
    const auto& from = opts.mount_from[i];
    if (from == repo) continue;
    try {
      if (blob_exists(s, from, desc.digest, repository_scope(from, false))) return from;
    } catch (const Error& e) {
      log::debug("cannot check " + from + " for " + desc.digest.str() + ": " + e.what());
    }
  }
  return "";
}

// POST an upload session, as a mount when another repository has the blob. 201 = mounted.
http::Response Pusher::start(std::string& location, uint64_t& min_chunk) {
  http::Request req;
  req.method = "POST";
  req.url = s.url(repo, "blobs/uploads/");
  req.body = http::Body::bytes("");
  std::string from = tries == 1 ? mount_source() : "";
  std::string sc = scope;
  if (!from.empty()) {
    req.url += "?mount=" + desc.digest.str() + "&from=" + from;
    sc += " " + repository_scope(from, false);
  }
  http::Response r = s.send(req, sc);
  if (r.status == 201 && !from.empty()) {
    result.action = BlobAction::mounted;
    result.mounted_from = from;
    return r;
  }
  if (r.status != 202) return r;
  if (!from.empty())
    log::debug(repo + ": mount of " + desc.digest.str() + " from " + from + " refused; uploading");
  location = location_of(req, r);
  min_chunk = header_number(r, "oci-chunk-min-length");
  return r;
}

http::Response Pusher::monolithic(const std::string& location) {
  http::Request req;
  req.method = "PUT";
  req.url = with_digest(location, desc.digest);
  req.body = http::Body::file_range(file, 0, static_cast<uint64_t>(desc.size));
  if (sent) req.upload_progress = sent;
  committed = true;
  return s.send(req, scope);
}

http::Response Pusher::chunked(std::string location, uint64_t min_chunk) {
  for (const auto& c : plan_chunks(static_cast<uint64_t>(desc.size), opts.chunk_size, min_chunk)) {
    http::Request req;
    req.method = "PATCH";
    req.url = location;
    req.headers = {{"Content-Range", c.content_range()}};
    req.body = http::Body::file_range(file, c.offset, c.length);
    if (sent) req.upload_progress = [&, c](uint64_t n) { sent(c.offset + n); };
    http::Response r = s.send(req, scope);
    if (r.status != 202) return r;
    location = location_of(req, r);
  }
  http::Request put;
  put.method = "PUT";
  put.url = with_digest(location, desc.digest);
  put.body = http::Body::bytes("");
  committed = true;
  return s.send(put, scope);
}

http::Response Pusher::attempt() {
  ++tries;
  result.action = BlobAction::uploaded;
  // A previous try may have committed the blob before failing: HEAD before sending again.
  if (tries > 1 && blob_exists(s, repo, desc.digest, scope)) {
    result.action = committed ? BlobAction::uploaded : BlobAction::skipped;
    if (committed) result.bytes_sent = static_cast<uint64_t>(desc.size);
    log::debug(repo + ": " + desc.digest.str() + " is there after all; not sending it again");
    return synthetic(201);
  }
  if (sent) sent(0);
  std::string location;
  uint64_t min_chunk = 0;
  http::Response r = start(location, min_chunk);
  if (r.status != 202) return r;
  bool chunk = opts.chunk_size > 0 && static_cast<uint64_t>(desc.size) > opts.chunk_size;
  r = chunk ? chunked(location, min_chunk) : monolithic(location);
  if (r.ok()) result.bytes_sent = static_cast<uint64_t>(desc.size);
  return r;
}

}  // namespace

const char* action_name(BlobAction a) {
  switch (a) {
    case BlobAction::uploaded:
      return "uploaded";
    case BlobAction::skipped:
      return "skipped";
    case BlobAction::mounted:
      return "mounted";
  }
  return "?";
}

std::string Chunk::content_range() const {
  return std::to_string(offset) + "-" + std::to_string(offset + length - 1);
}

std::vector<Chunk> plan_chunks(uint64_t size, uint64_t chunk_size, uint64_t min_length) {
  uint64_t step = std::max<uint64_t>({chunk_size, min_length, 1});
  std::vector<Chunk> out;
  for (uint64_t off = 0; off < size; off += step) out.push_back({off, std::min(step, size - off)});
  return out;
}

std::string with_digest(const std::string& location, const oci::Digest& d) {
  auto hash = location.find('#');
  std::string base = location.substr(0, hash);
  std::string sep =
      base.find('?') == std::string::npos ? "?" : (base.back() == '?' || base.back() == '&' ? "" : "&");
  return base + sep + "digest=" + d.str();
}

bool blob_exists(Session& s, const std::string& repository, const oci::Digest& d, const std::string& scope) {
  http::Request req;
  req.method = "HEAD";
  req.url = s.url(repository, "blobs/" + d.str());
  http::Response r = s.send_retry([&] { return req; }, scope);
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  s.fail(req, r, "cannot tell whether the blob is there");
}

BlobResult push_blob(Session& s, const std::string& repository, const oci::Descriptor& desc,
                     const std::filesystem::path& file, const UploadOptions& opts, const SentFn& sent) {
  auto t0 = std::chrono::steady_clock::now();
  Pusher p{s, repository, desc, file, opts, sent, repository_scope(repository, true), BlobResult{}, 0, false};
  p.result.desc = desc;
  if (blob_exists(s, repository, desc.digest, p.scope)) {
    p.result.action = BlobAction::skipped;
    return p.result;
  }
  http::Response r = s.retry([&] { return p.attempt(); });
  if (!r.ok()) {
    http::Request what;
    what.method = "upload of";
    what.url = desc.digest.str() + " to " + repository;
    s.fail(what, r, "the blob was not stored");
  }
  p.result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return p.result;
}

}  // namespace ksimg::registry
