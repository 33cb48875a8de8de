// The inputs hash of a cell image and its immutable tag (see cell_inputs.hpp). The lock slice
// is rendered by recipes::render_lock, whose output is canonical, so the hash is the same on
// every machine that holds the same lock.
#include "layers/cell_inputs.hpp"

#include "recipes/base.hpp"

namespace ksimg::layers {

std::string cell_lock_slice(const recipes::Lock& lock, const std::string& recipe, int64_t epoch,
                            const std::string& host_arch) {
  recipes::Lock sub;
  sub.source_date_epoch = epoch;
  for (const std::string& name : {std::string(recipes::kBaseName), recipe}) {
    auto it = lock.recipes.find(name);
    if (it == lock.recipes.end()) continue;
    recipes::LockedRecipe& r = sub.recipes[name] = it->second;
    r.packages = it->second.packages_for(host_arch);
    r.hosts.clear();
    auto s = lock.debian_suites.find(it->second.suite);
    if (!it->second.suite.empty() && s != lock.debian_suites.end()) sub.debian_suites[s->first] = s->second;
  }
  return recipes::render_lock(sub);
}

std::string cell_inputs_sha256(const recipes::Lock& lock, const std::string& recipe, int64_t epoch,
                               const oci::Digest& launcher_diff_id, oci::Compression compression,
                               const std::string& host_arch) {
  std::string text = cell_lock_slice(lock, recipe, epoch, host_arch);
  if (host_arch != "amd64") text += "host " + host_arch + "\n";
  text += "launcher " + launcher_diff_id.str() + "\n";
  text += "compression " + oci::compression_profile(compression) + "\n";
  return oci::sha256(text).hex();
}

std::string immutable_tag(const std::string& tag, const std::string& inputs_sha256) {
  return tag + "-" + inputs_sha256.substr(0, 12);
}

}  // namespace ksimg::layers
