// images.lock.json reading, merging and atomic writing (see images_lock.hpp and the schema in
// docs/registry.md). Written with util/files.hpp (temp file, fsync, rename) under a FileLock
// so concurrent pushes never lose each other's pins.
#include "registry/images_lock.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "registry/reference.hpp"
#include "util/dir_lock.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::registry {

namespace {

Pin parse_pin(const std::string& file, const std::string& tag, const nlohmann::json& e) {
  auto bad = [&](const std::string& why) {
    return DataError(file + ": images." + tag + ": " + why + "; fix it or delete the entry and push again");
  };
  if (!e.is_object() || !e.contains("reference") || !e["reference"].is_string() || !e.contains("digest") ||
      !e["digest"].is_string() || !e.contains("size") || !e["size"].is_number_integer())
    throw bad("needs reference, digest and size");
  Pin p;
  p.cell = e.contains("cell") && e["cell"].is_string() ? e["cell"].get<std::string>() : "";
  p.reference = e["reference"].get<std::string>();
  auto d = oci::Digest::try_parse(e["digest"].get<std::string>());
  if (!d) throw bad("digest is not sha256:<64 hex>");
  p.digest = *d;
  p.size = e["size"].get<int64_t>();
  if (e.contains("compressors")) {
    const auto& c = e["compressors"];
    if (!c.is_array()) throw bad("compressors must be a list of strings");
    for (const auto& s : c) {
      if (!s.is_string()) throw bad("compressors must be a list of strings");
      p.compressors.push_back(s.get<std::string>());
    }
  }
  if (e.contains("tags")) {
    if (!e["tags"].is_array()) throw bad("tags must be an array of strings");
    for (const auto& t : e["tags"]) {
      if (!t.is_string()) throw bad("tags must be an array of strings");
      p.tags.push_back(t.get<std::string>());
    }
  }
  if (e.contains("platforms")) {
    if (!e["platforms"].is_object()) throw bad("platforms must map OS/ARCH to {digest, size}");
    for (const auto& [plat, v] : e["platforms"].items()) {
      auto pd = v.is_object() && v.contains("digest") && v["digest"].is_string()
                    ? oci::Digest::try_parse(v["digest"].get<std::string>())
                    : std::nullopt;
      if (!pd || !v.contains("size") || !v["size"].is_number_integer())
        throw bad("platforms." + plat + " needs digest (sha256:<64 hex>) and size");
      p.platforms[plat] = {*pd, v["size"].get<int64_t>()};
    }
  }
  try {
    auto ref = parse_reference(p.reference);
    if (!ref.digest || *ref.digest != p.digest) throw bad("the reference does not end in @" + p.digest.str());
  } catch (const UsageError& ue) {
    throw bad(ue.what());
  }
  return p;
}

}  // namespace

std::filesystem::path default_images_lock() {
  const char* env = std::getenv("KSIMG_IMAGES_LOCK");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path("images.lock.json");
}

Pins read_images_lock(const std::filesystem::path& path) {
  auto text = files::read_if_exists(path);
  Pins out;
  if (!text) return out;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw DataError(path.string() + " is not JSON; fix it or delete it and push again");
  if (j.value("schema_version", 0) != 1)
    throw DataError(path.string() + ": schema_version must be 1 (this ksimg reads only version 1)");
  if (!j.contains("images") || !j["images"].is_object())
    throw DataError(path.string() + ": no \"images\" object");
  for (const auto& [tag, e] : j["images"].items()) out[tag] = parse_pin(path.string(), tag, e);
  return out;
}

std::string images_lock_json(const Pins& pins) {
  nlohmann::ordered_json images = nlohmann::ordered_json::object();
  for (const auto& [tag, p] : pins) {
    images[tag] = {
        {"cell", p.cell}, {"reference", p.reference}, {"digest", p.digest.str()}, {"size", p.size}};
    if (!p.compressors.empty()) images[tag]["compressors"] = p.compressors;
    if (!p.tags.empty()) images[tag]["tags"] = p.tags;
    for (const auto& [plat, pp] : p.platforms)
      images[tag]["platforms"][plat] = {{"digest", pp.digest.str()}, {"size", pp.size}};
  }
  nlohmann::ordered_json j = {{"schema_version", 1}, {"images", images}};
  return j.dump(2) + "\n";
}

void update_images_lock(const std::filesystem::path& path, const Pins& updates) {
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  std::filesystem::create_directories(dir);
  // The directory, not a `<path>.lock` file: the user's directory keeps only images.lock.json.
  // (The file itself cannot be the lock: write_atomic replaces its inode.)
  files::DirLock lock(dir);
  Pins pins = read_images_lock(path);
  for (const auto& [tag, p] : updates) pins[tag] = p;
  std::string text = images_lock_json(pins);
  if (files::read_if_exists(path) != text) files::write_atomic(path, text);  // unchanged: not rewritten
}

std::optional<Pin> find_pin(const std::filesystem::path& path, const std::string& tag) {
  auto pins = read_images_lock(path);
  auto it = pins.find(tag);
  if (it == pins.end()) return std::nullopt;
  return it->second;
}

}  // namespace ksimg::registry
