// `inspect` support (see inspect.hpp): tag resolution in index.json, then the manifest and
// config blobs, each checked against its descriptor before it is parsed (image-spec
// manifest.md, config.md; an OCI manifest carries layers in stack order, rootfs.diff_ids
// matches them one to one).
#include "oci/inspect.hpp"

#include "oci/index.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

nlohmann::json parse_blob(const Layout& layout, const Descriptor& d) {
  auto j = nlohmann::json::parse(layout.read_blob(d), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw IntegrityError("blob " + d.digest.str() + " is not a JSON object");
  return j;
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::map<std::string, std::string> string_map(const nlohmann::json& j, const char* key) {
  std::map<std::string, std::string> out;
  if (j.contains(key) && j[key].is_object())
    for (const auto& [k, v] : j[key].items())
      if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

void read_config(ImageInfo& info, const nlohmann::json& cfg) {
  info.platform.os = cfg.value("os", "");
  info.platform.architecture = cfg.value("architecture", "");
  info.platform.variant = cfg.value("variant", "");
  info.created = cfg.value("created", "");
  const auto& c =
      cfg.contains("config") && cfg["config"].is_object() ? cfg["config"] : nlohmann::json::object();
  info.env = strings(c, "Env");
  info.cmd = strings(c, "Cmd");
  info.entrypoint = strings(c, "Entrypoint");
  info.labels = string_map(c, "Labels");
  std::vector<std::string> diff_ids;
  if (cfg.contains("rootfs") && cfg["rootfs"].is_object()) diff_ids = strings(cfg["rootfs"], "diff_ids");
  if (diff_ids.size() != info.layers.size())
    throw IntegrityError("config " + info.config.digest.str() + " lists " + std::to_string(diff_ids.size()) +
                         " diff_ids for " + std::to_string(info.layers.size()) + " layers");
  for (size_t i = 0; i < diff_ids.size(); ++i) info.layers[i].diff_id = diff_ids[i];
}

}  // namespace

std::string resolve_tag(const Layout& layout, const std::string& tag) {
  auto tags = layout.tags();
  if (tag.empty()) {
    if (tags.size() == 1) return tags[0];
    throw UsageError(layout.root().string() + " holds " + std::to_string(tags.size()) +
                     " tags; name one as LAYOUT:TAG (tags: " + joined(tags) + ")");
  }
  for (const auto& t : tags)
    if (t == tag) return t;
  throw UsageError("no tag '" + tag + "' in " + layout.root().string() + "; available tags: " + joined(tags));
}

ImageInfo inspect_image(const Layout& layout, const std::string& tag,
                        const std::optional<Platform>& platform) {
  ImageInfo info;
  info.tag = resolve_tag(layout, tag);
  info.manifest = *layout.find_tag(info.tag);
  if (is_index_media_type(info.manifest.media_type)) {
    info.index = info.manifest;
    info.index_manifests = index_manifests(layout, *info.index);
    info.manifest =
        select_platform(layout, *info.index, platform ? *platform : running_platform(), "tag " + info.tag);
  }
  if (info.manifest.media_type != media::manifest)
    throw UsageError("tag '" + info.tag + "' points at " + info.manifest.media_type +
                     ", not an OCI image manifest");
  auto m = parse_blob(layout, info.manifest);
  if (!m.contains("config") || !m.contains("layers") || !m["layers"].is_array())
    throw IntegrityError("manifest " + info.manifest.digest.str() + " has no config or layers");
  info.config = Descriptor::from_json(m["config"]);
  for (const auto& l : m["layers"]) info.layers.push_back({Descriptor::from_json(l), ""});
  info.annotations = string_map(m, "annotations");
  read_config(info, parse_blob(layout, info.config));
  return info;
}

nlohmann::json to_json(const ImageInfo& info) {
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < info.layers.size(); ++i) {
    const auto& l = info.layers[i];
    layers.push_back({{"index", i + 1},
                      {"mediaType", l.descriptor.media_type},
                      {"size", l.descriptor.size},
                      {"digest", l.descriptor.digest.str()},
                      {"diffID", l.diff_id},
                      {"annotations", l.descriptor.annotations}});
  }
  nlohmann::json out = {{"tag", info.tag},
                        {"manifest", info.manifest.to_json()},
                        {"config", info.config.to_json()},
                        {"platform", platform_json(info.platform)},
                        {"created", info.created},
                        {"layers", layers},
                        {"env", info.env},
                        {"cmd", info.cmd},
                        {"entrypoint", info.entrypoint},
                        {"labels", info.labels},
                        {"annotations", info.annotations}};
  if (info.index) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : info.index_manifests) list.push_back(m.to_json());
    out["index"] = {{"digest", info.index->digest.str()}, {"size", info.index->size}, {"manifests", list}};
  }
  return out;
}

}  // namespace ksimg::oci
