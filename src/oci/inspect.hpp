// Reading an image back out of an OCI layout for `ksimg inspect`: the tag's manifest and
// config, verified against their digests (image-spec manifest.md, config.md).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/layout.hpp"

namespace ksimg::oci {

struct LayerInfo {
  Descriptor descriptor;  // compressed blob
  std::string diff_id;    // from the config's rootfs.diff_ids ("" if missing)
};

struct ImageInfo {
  std::string tag;
  std::optional<Descriptor> index;  // when the tag names an image index
  std::vector<Descriptor> index_manifests;
  Descriptor manifest, config;
  Platform platform;
  std::string created;
  std::vector<LayerInfo> layers;
  std::vector<std::string> env, cmd, entrypoint;
  std::map<std::string, std::string> labels, annotations;
};

// Resolves `tag` in the layout: when `tag` is empty the layout must hold exactly one tag.
// An unknown or missing tag is a UsageError listing the tags the layout has.
std::string resolve_tag(const Layout& layout, const std::string& tag);

// The image `tag` names; when that is an index, its `platform` entry (default: this machine's).
ImageInfo inspect_image(const Layout& layout, const std::string& tag,
                        const std::optional<Platform>& platform = std::nullopt);
nlohmann::json to_json(const ImageInfo& info);

}  // namespace ksimg::oci
