// Image config and manifest (see image.hpp). Field names and media types follow OCI image-spec
// config.md ("created", "architecture", "os", "variant", "config.Env/Cmd/Entrypoint/Labels",
// "rootfs" {type "layers", diff_ids}, "history") and manifest.md (schemaVersion 2, mediaType,
// config, layers, annotations); annotation keys follow annotations.md.
#include "oci/image.hpp"

#include <filesystem>

#include "util/error.hpp"

namespace ksimg::oci {

void validate_env(const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("invalid environment entry '" + kv + "': expected KEY=VALUE with a non-empty KEY");
}

nlohmann::json image_config_json(const ImageSpec& spec, const std::vector<LayerResult>& layers) {
  const std::string created = rfc3339(spec.created);
  nlohmann::json cfg = nlohmann::json::object();
  for (const auto& kv : spec.env) validate_env(kv);
  if (!spec.env.empty()) cfg["Env"] = spec.env;
  if (!spec.cmd.empty()) cfg["Cmd"] = spec.cmd;
  if (!spec.entrypoint.empty()) cfg["Entrypoint"] = spec.entrypoint;
  if (!spec.labels.empty()) cfg["Labels"] = spec.labels;
  nlohmann::json diff_ids = nlohmann::json::array();
  nlohmann::json history = nlohmann::json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    diff_ids.push_back(layers[i].diff_id.str());
    std::string by = i < spec.created_by.size() && !spec.created_by[i].empty() ? spec.created_by[i] : "ksimg";
    history.push_back({{"created", created}, {"created_by", by}});
  }
  nlohmann::json j = {{"created", created},
                      {"architecture", spec.platform.architecture},
                      {"os", spec.platform.os},
                      {"config", cfg},
                      {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
                      {"history", history}};
  if (!spec.platform.variant.empty()) j["variant"] = spec.platform.variant;
  return j;
}

static std::map<std::string, std::string> manifest_annotations(const ImageSpec& spec) {
  auto a = spec.annotations;
  a[std::string(annotation::created)] = rfc3339(spec.created);
  auto set = [&](std::string_view key, const std::string& v) {
    if (!v.empty()) a[std::string(key)] = v;
  };
  set(annotation::source, spec.source);
  set(annotation::revision, spec.revision);
  set(annotation::version, spec.version);
  return a;
}

nlohmann::json manifest_json(const ImageSpec& spec, const Descriptor& config,
                             const std::vector<LayerResult>& layers) {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) ls.push_back(l.descriptor.to_json());
  return {{"schemaVersion", 2},
          {"mediaType", std::string(media::manifest)},
          {"config", config.to_json()},
          {"layers", ls},
          {"annotations", manifest_annotations(spec)}};
}

BuiltImage assemble_image(const Layout& layout, const ImageSpec& spec,
                          const std::vector<LayerResult>& layers) {
  for (const auto& l : layers) {
    std::error_code ec;
    auto size = std::filesystem::file_size(layout.blob_path(l.descriptor.digest), ec);
    if (ec || size != static_cast<uint64_t>(l.descriptor.size))
      throw RuntimeError("layer " + l.descriptor.digest.str() + " is not in the layout " +
                         layout.root().string());
  }
  BuiltImage img;
  img.config = layout.put_blob(canonical_json(image_config_json(spec, layers)), media::config);
  img.manifest = layout.put_blob(canonical_json(manifest_json(spec, img.config, layers)), media::manifest);
  img.manifest.platform = spec.platform;
  return img;
}

}  // namespace ksimg::oci
