// Pushing an image from the OCI layout to a registry (distribution-spec v1.1 "Push"): every
// blob (config and layers) first, `jobs` at a time, each on its own Session; then every blob
// verified by HEAD; then the manifest PUT by digest and only then under each tag, so a tag
// never points at a manifest whose blobs are not all there. A multi-platform image (an image
// index) sends every child manifest by digest, then the index by digest, then its tags.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "oci/layout.hpp"
#include "registry/blob_push.hpp"
#include "registry/client.hpp"

namespace ksimg::registry {

// The exit code of a push refused because it would move an immutable tag (README "Exit codes").
inline constexpr int kImmutableTagExit = 6;

// Progress of blob transfers (push and pull); called from worker threads.
class TransferEvents {
 public:
  virtual ~TransferEvents() = default;
  virtual void blob_started(const oci::Descriptor&) {}
  virtual void blob_progress(const oci::Descriptor&, uint64_t /*bytes*/) {}
  virtual void blob_finished(const BlobResult&) {}
};

struct PushOptions {
  int jobs = 4;
  UploadOptions upload;
};

struct PushRequest {
  std::string layout_tag;         // the image in the layout
  std::string repository;         // "ns/kernelsmith"
  std::vector<std::string> tags;  // registry tags to set (default: layout_tag)
  // Tags that must never move: each is set like `tags`, but when the registry already has
  // it on another manifest the push stops before sending anything (Error, kImmutableTagExit).
  std::vector<std::string> immutable_tags = {};
};

struct PushResult {
  std::string layout_tag, repository;
  std::string reference;                  // "REG/ns/kernelsmith:tag@sha256:..."
  oci::Descriptor manifest;               // the manifest, or the index of a multi-platform image
  std::vector<oci::Descriptor> children;  // an index's manifests (with platform); empty otherwise
  std::vector<BlobResult> blobs;          // config first, then layers in manifest order (every child's, once)
  uint64_t bytes_sent = 0, bytes_skipped = 0;
};

PushResult push_image(Registry& reg, const oci::Layout& layout, const PushRequest& req,
                      const PushOptions& opts, TransferEvents* events = nullptr);

// PUTs manifest `m` (its exact `bytes`) under `ref` (a digest or a tag); a MANIFEST_BLOB_UNKNOWN
// answer calls `recheck` (make sure of the blobs) and retries, 3 tries in all.
void put_manifest(Session& s, const std::string& repo, const std::string& ref, const oci::Descriptor& m,
                  const std::string& bytes, const std::function<void()>& recheck);

// True when `tag` already names manifest `d` (HEAD end-3 and its Docker-Content-Digest).
bool tag_points_at(Session& s, const std::string& repo, const std::string& tag, const oci::Digest& d);

// Runs fn(i, worker) for i in [0, n) on up to `jobs` threads (worker in [0, jobs) names the
// thread, for per-thread sessions); rethrows the first exception after all threads stopped
// (the others stop taking new work once one failed).
void parallel_for(size_t n, int jobs, const std::function<void(size_t, size_t)>& fn);

// The config and layer descriptors of a manifest (OCI or Docker schema 2), config first,
// duplicates dropped. IntegrityError when the JSON is not such a manifest.
std::vector<oci::Descriptor> manifest_blobs(const std::string& manifest_bytes);

}  // namespace ksimg::registry
