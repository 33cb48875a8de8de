// Pushing one blob (distribution-spec v1.1 "Pushing blobs"): HEAD first (end-2), a
// cross-repository mount when another repository has it (end-11, upload on 202), then a
// monolithic upload (POST end-4a, PUT end-6) or a chunked one (PATCH end-5 with
// Content-Range, honouring OCI-Chunk-Min-Length). The body is always read from the blob's
// file, so a retry re-sends it whole; after a failed commit the digest is HEADed first.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "oci/descriptor.hpp"
#include "registry/client.hpp"

namespace ksimg::registry {

enum class BlobAction { uploaded, skipped, mounted };
const char* action_name(BlobAction a);

struct BlobResult {
  oci::Descriptor desc;
  BlobAction action = BlobAction::uploaded;
  std::string mounted_from;  // the source repository of a mount
  uint64_t bytes_sent = 0;   // body bytes of the upload that succeeded
  double seconds = 0;
};

struct UploadOptions {
  uint64_t chunk_size = 0;              // > 0: blobs larger than this go in PATCH chunks of this size
  std::vector<std::string> mount_from;  // repositories on the same registry that may have the blob
};

struct Chunk {
  uint64_t offset = 0;
  uint64_t length = 0;
  // "start-end", inclusive (the Content-Range of a PATCH)
  std::string content_range() const;
};

// The PATCH chunks of a `size`-byte blob: `chunk_size` each (at least `min_length`, the
// registry's OCI-Chunk-Min-Length), the last one what is left. Empty for size 0.
std::vector<Chunk> plan_chunks(uint64_t size, uint64_t chunk_size, uint64_t min_length);

// `location` with "digest=<d>" added to its query (kept verbatim otherwise).
std::string with_digest(const std::string& location, const oci::Digest& d);

using SentFn = std::function<void(uint64_t sent)>;

// Makes sure `repository` has the blob `desc` (bytes in `file`), uploading it when needed.
BlobResult push_blob(Session& s, const std::string& repository, const oci::Descriptor& desc,
                     const std::filesystem::path& file, const UploadOptions& opts, const SentFn& sent = {});

// HEAD the blob (end-2); true when the registry has it. Retried; other statuses are errors.
bool blob_exists(Session& s, const std::string& repository, const oci::Digest& d, const std::string& scope);

}  // namespace ksimg::registry
