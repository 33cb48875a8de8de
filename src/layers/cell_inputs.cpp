// The inputs hash of a cell image and its immutable tag (see cell_inputs.hpp). The lock slice
// is rendered by recipes::render_lock, whose output is canonical, so the hash is the same on
// every machine that holds the same lock.
#include "layers/cell_inputs.hpp"

#include "recipes/base.hpp"

namespace ksimg::layers {

std::string cell_lock_slice(const recipes::Lock& lock, const std::string& recipe, int64_t epoch) {
  recipes::Lock sub;
  sub.source_date_epoch = epoch;
  for (const std::string& name : {std::string(recipes::kBaseName), recipe}) {
    auto it = lock.recipes.find(name);
    if (it == lock.recipes.end()) continue;
    sub.recipes[name] = it->second;
    auto s = lock.debian_suites.find(it->second.suite);
    if (!it->second.suite.empty() && s != lock.debian_suites.end()) sub.debian_suites[s->first] = s->second;
  }
  return recipes::render_lock(sub);
}

std::string cell_inputs_sha256(const recipes::Lock& lock, const std::string& recipe, int64_t epoch,
                               const oci::Digest& launcher_diff_id, oci::Compression compression) {
  std::string text = cell_lock_slice(lock, recipe, epoch);
  text += "launcher " + launcher_diff_id.str() + "\n";
  text += "compression " + oci::compression_profile(compression) + "\n";
  return oci::sha256(text).hex();
}

std::string immutable_tag(const std::string& tag, const std::string& inputs_sha256) {
  return tag + "-" + inputs_sha256.substr(0, 12);
}

}  // namespace ksimg::layers
