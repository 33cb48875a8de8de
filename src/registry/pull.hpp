// Pulling an image into the OCI layout (distribution-spec v1.1 "Pull"): the manifest (OCI or
// Docker schema 2; an index or manifest list resolves to the host platform's manifest), then
// config and layers. Every blob is written to a temp file in the layout and checked against
// its digest AND size; only when all of them are intact are they moved into blobs/ and the tag
// set, so corrupt bytes are refused (IntegrityError) and nothing is stored.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "oci/layout.hpp"
#include "registry/push.hpp"
#include "registry/reference.hpp"

namespace ksimg::registry {

struct PullOptions {
  int jobs = 4;
  std::optional<int64_t> manifest_size;  // from a pin: the manifest must have this size
};

struct PullResult {
  std::string layout_tag;
  std::string reference;  // with the digest
  oci::Descriptor manifest;
  std::vector<BlobResult> blobs;  // action uploaded = downloaded, skipped = already in the layout
  uint64_t bytes_received = 0, bytes_skipped = 0;
};

PullResult pull_image(Registry& reg, const Reference& ref, const oci::Layout& layout, const std::string& layout_tag,
                      const PullOptions& opts = {}, TransferEvents* events = nullptr);

// The Accept header for manifests: OCI manifest and index, Docker schema 2 and manifest list.
const std::string& manifest_accept();

}  // namespace ksimg::registry
