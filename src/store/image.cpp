// prepare_image (image.hpp): the tag's manifest and config read back (and verified) by
// oci::inspect_image, each layer blob imported unless its diff_id is in the store, then the
// cached checkout. Imports run one at a time; the store itself is safe for concurrent ksimg.
#include "store/image.hpp"

#include <nlohmann/json.hpp>

#include "oci/inspect.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::store {

PreparedImage prepare_image(Store& s, const oci::Layout& layout, const std::string& tag) {
  auto info = oci::inspect_image(layout, tag);
  PreparedImage p;
  p.digest = info.manifest.digest.str();
  p.env = info.env;
  p.entrypoint = info.entrypoint;
  p.cmd = info.cmd;
  auto config = nlohmann::json::parse(layout.read_blob(info.config));
  if (config.contains("config") && config["config"].is_object())
    p.workdir = config["config"].value("WorkingDir", "");
  std::vector<std::string> diff_ids;
  for (const auto& l : info.layers) {
    if (l.diff_id.empty()) throw IntegrityError(tag + ": a layer has no diff_id in the image config");
    if (!s.has_layer(l.diff_id)) {
      log::info("store: importing layer " + l.diff_id.substr(7, 12) + " of " + tag);
      s.import_layer(layout.blob_path(l.descriptor.digest), l.diff_id);
    }
    diff_ids.push_back(l.diff_id);
  }
  p.root = s.checkout(p.digest, tag, diff_ids);
  return p;
}

}  // namespace ksimg::store
