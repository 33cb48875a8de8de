// Pulling an image into the OCI layout (distribution-spec v1.1 "Pull"): the manifest (OCI or
// Docker schema 2), then config and layers. An index (or manifest list) is kept whole, every
// platform's manifest with it, unless PullOptions::platform picks one. Every blob is written to a temp file
// in the layout and checked against its digest AND size; only when all of them are intact are they moved into
// blobs/ and the tag set, so corrupt bytes are refused (IntegrityError) and nothing is stored.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "oci/layout.hpp"
#include "registry/push.hpp"
#include "registry/reference.hpp"
#include "util/files.hpp"

namespace ksimg::registry {

struct PullOptions {
  int jobs = 4;
  std::optional<int64_t> manifest_size;  // from a pin: the manifest (or index) must have this size
  // For an index: keep only this platform's manifest. Unset: keep the index and every child.
  std::optional<oci::Platform> platform = std::nullopt;
};

struct PullResult {
  std::string layout_tag;
  std::string reference;                  // with the digest
  oci::Descriptor manifest;               // the manifest, or the index kept whole
  std::vector<oci::Descriptor> children;  // an index's manifests (with platform); empty otherwise
  std::vector<BlobResult> blobs;          // action uploaded = downloaded, skipped = already in the layout
  uint64_t bytes_received = 0, bytes_skipped = 0;
};

PullResult pull_image(Registry& reg, const Reference& ref, const oci::Layout& layout,
                      const std::string& layout_tag, const PullOptions& opts = {},
                      TransferEvents* events = nullptr);

// A manifest as the registry served it (GET end-3), its digest checked against the
// Docker-Content-Digest header; RuntimeError (naming "no such image" on 404) when not served.
struct Fetched {
  std::string bytes, media_type;
  oci::Digest digest;
};
Fetched get_manifest(Session& s, const std::string& repo, const std::string& ref);

// Downloads blob `d` into `tmp` (truncated for each try), checking size and digest:
// IntegrityError naming the registry and both digests when they differ. Returns the bytes.
uint64_t fetch_blob(Session& s, const std::string& repo, const oci::Descriptor& d, files::AtomicFile& tmp,
                    const std::function<void(uint64_t)>& progress = {});

// The Accept header for manifests: OCI manifest and index, Docker schema 2 and manifest list.
const std::string& manifest_accept();

}  // namespace ksimg::registry
