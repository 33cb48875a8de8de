// Image assembly (OCI image-spec config.md, manifest.md, annotations.md): the image config
// (platform, Env, Cmd, Labels, rootfs.diff_ids, one history entry per layer, created), the
// manifest with org.opencontainers.image.* annotations, both stored as blobs of a layout in
// canonical JSON so that the same inputs always give the same digests.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"

namespace ksimg::oci {

struct ImageSpec {
  Platform platform = Platform::host();
  std::vector<std::string> env;         // "KEY=VALUE", in order
  std::vector<std::string> cmd;         // config.Cmd; omitted when empty
  std::vector<std::string> entrypoint;  // config.Entrypoint; omitted when empty
  std::map<std::string, std::string> labels;
  // Manifest annotations besides the four below (which win over these).
  std::map<std::string, std::string> annotations;
  std::string source, revision, version;  // org.opencontainers.image.*; omitted when empty
  int64_t created = 0;                    // SOURCE_DATE_EPOCH: config.created, history, annotation
  // history[i].created_by for layer i; "ksimg" when missing. Keep host paths out of it.
  std::vector<std::string> created_by;
};

struct BuiltImage {
  Descriptor manifest;  // what index.json points a tag at (with platform)
  Descriptor config;
};

nlohmann::json image_config_json(const ImageSpec& spec, const std::vector<LayerResult>& layers);
nlohmann::json manifest_json(const ImageSpec& spec, const Descriptor& config,
                             const std::vector<LayerResult>& layers);

// Stores the config and manifest blobs; the layers must already be in `layout`.
BuiltImage assemble_image(const Layout& layout, const ImageSpec& spec,
                          const std::vector<LayerResult>& layers);

// Checks "KEY=VALUE" (non-empty key without '='); throws UsageError naming `what`.
void validate_env(const std::string& kv);

}  // namespace ksimg::oci
