// Base layer build and cache (see base_layer.hpp). mmdebstrap runs under SOURCE_DATE_EPOCH
// with every locked package given as name=version, so apt can only install the pinned
// versions; the installed set is then compared with the lock before anything is written.
#include "layers/base_layer.hpp"

#include <map>
#include <nlohmann/json.hpp>

#include "layers/cache.hpp"
#include "recipes/deb_control.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::pair<std::string, std::string>> installed_packages(const std::string& status_text) {
  std::map<std::string, std::string> out;
  recipes::for_each_paragraph(status_text, [&](const recipes::Paragraph& p) {
    std::string st = p.folded("Status");
    if (st.ends_with(" installed")) out[p.folded("Package")] = p.folded("Version");
  });
  return {out.begin(), out.end()};
}

void apply_drops(const fs::path& root, const std::vector<recipes::DropPath>& drops) {
  for (const auto& d : drops) {
    fs::path p = root / d.path;
    std::error_code ec;
    auto st = fs::symlink_status(p, ec);
    if (ec || !fs::exists(st)) continue;
    if (fs::is_directory(st)) {
      for (const auto& e : fs::directory_iterator(p)) fs::remove_all(e.path());
    } else {
      fs::remove(p);
    }
  }
}

static std::string cache_key(const BaseBuild& b) {
  json k{{"definition", b.def.sha256},
         {"epoch", b.source_date_epoch},
         {"compression", oci::compression_profile(b.compression)},
         {"layer_format", 1}};
  for (const auto& p : b.locked.packages) k["packages"].push_back(p.name + "=" + p.version + "=" + p.sha256);
  if (b.def.architecture != "amd64") k["architecture"] = b.def.architecture;
  return oci::sha256(k.dump()).hex();
}

static fs::path record_path(const BaseBuild& b, const std::string& key) {
  return b.cache_root / "layers" / ("base-" + key + ".json");
}

static void check_versions(const BaseBuild& b, const fs::path& root) {
  auto installed = installed_packages(files::read(root / "var/lib/dpkg/status"));
  std::map<std::string, std::string> want, have(installed.begin(), installed.end());
  for (const auto& p : b.locked.packages) want[p.name] = p.version;
  std::vector<std::string> diff;
  for (const auto& [n, v] : want)
    if (have[n] != v)
      diff.push_back(n + " (locked " + v + ", installed " + (have[n].empty() ? "none" : have[n]) + ")");
  for (const auto& [n, v] : have)
    if (!want.count(n)) diff.push_back(n + " (not in the lock, installed " + v + ")");
  if (diff.empty()) return;
  std::string list;
  for (size_t i = 0; i < diff.size() && i < 5; ++i) list += (i ? ", " : "") + diff[i];
  if (diff.size() > 5) list += " and " + std::to_string(diff.size() - 5) + " more";
  throw IntegrityError("the base layer's packages differ from the lock: " + list +
                       "; the suite moved since it was locked: run 'ksimg lock' and rebuild");
}

static void run_mmdebstrap(const BaseBuild& b, const fs::path& target) {
  if (!subprocess::find_program("mmdebstrap"))
    throw RuntimeError("mmdebstrap is not installed; it builds the base layer (apt-get install mmdebstrap)");
  recipes::BaseDefinition pinned = b.def;
  pinned.packages.clear();
  for (const auto& p : b.locked.packages) pinned.packages.push_back(p.name + "=" + p.version);
  auto argv = recipes::mmdebstrap_argv(pinned, b.mirror, b.keyring, target.string(), false);
  subprocess::Options o;
  o.env["SOURCE_DATE_EPOCH"] = std::to_string(b.source_date_epoch);
  log::info("base: mmdebstrap " + b.def.suite + " " + b.def.architecture + " (" +
            std::to_string(b.locked.packages.size()) + " pinned packages" +
            (b.def.architecture == "amd64" ? "" : "; under qemu-user binfmt on another host") + ")");
  auto r = subprocess::run(argv, o);
  if (!r.ok()) throw RuntimeError("building the base layer failed: " + subprocess::describe_failure(argv, r));
}

static json result_json(const oci::LayerResult& l) {
  return json{{"descriptor", l.descriptor.to_json()},
              {"diff_id", l.diff_id.str()},
              {"tar_size", l.tar_size},
              {"entries", l.entries}};
}

static std::optional<oci::LayerResult> cached_layer(const BaseBuild& b, const std::string& key,
                                                    const oci::Layout& layout) {
  auto text = files::read_if_exists(record_path(b, key));
  if (!text) return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  oci::LayerResult l{oci::Descriptor::from_json(j.at("descriptor")),
                     oci::Digest::parse(j.at("diff_id").get<std::string>()), j.at("tar_size").get<uint64_t>(),
                     j.at("entries").get<size_t>()};
  if (layout.has_blob(l.descriptor.digest, l.descriptor.size)) return l;
  DownloadCache cache(b.cache_root);
  auto kept = cache.lookup(l.descriptor.digest.hex(), static_cast<uint64_t>(l.descriptor.size), true);
  if (!kept) return std::nullopt;
  auto tmp = layout.begin_blob();
  tmp->write(files::read(*kept));
  layout.commit_blob(*tmp, l.descriptor.digest, l.descriptor.size);
  return l;
}

// Keeps a copy of the blob in the download cache (a hard link when on the same filesystem,
// else a copy renamed into place whole) and records the result under the cache key. The copy
// only saves a rebuild when the layout loses the blob, so failing to make it is a warning.
static void remember(const BaseBuild& b, const std::string& key, const oci::LayerResult& l,
                     const oci::Layout& layout) {
  DownloadCache cache(b.cache_root);
  fs::path dest = cache.path_of(l.descriptor.digest.hex()), blob = layout.blob_path(l.descriptor.digest);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (!fs::exists(dest)) {
    fs::create_hard_link(blob, dest, ec);
    if (ec) try {
        files::AtomicFile copy(dest);
        fs::copy_file(blob, copy.temp_path(), fs::copy_options::overwrite_existing);
        copy.commit();
      } catch (const std::exception& e) {
        log::warn("base: could not keep the layer in the cache (" + std::string(e.what()) +
                  "); a layout that loses it rebuilds it");
      }
  }
  fs::create_directories(record_path(b, key).parent_path());
  files::write_atomic(record_path(b, key), result_json(l).dump(2) + "\n");
}

BaseLayer build_base_layer(const BaseBuild& b, const oci::Layout& layout) {
  if (b.locked.packages.empty())
    throw UsageError("the lock has no base entry; run 'ksimg lock' (or 'ksimg lock --recipe base')");
  if (b.locked.recipe_sha256 != b.def.sha256)
    throw UsageError("layers/base.json changed since it was locked; run 'ksimg lock --recipe base'");
  BaseLayer out;
  out.key = cache_key(b);
  for (const auto& p : b.locked.packages) out.packages.emplace_back(p.name, p.version);
  // One builder per key: a second ksimg (another cell, another CI job on the same cache)
  // waits here and then finds the layer the first one made, instead of a second mmdebstrap.
  fs::create_directories(record_path(b, out.key).parent_path());
  files::FileLock lock(record_path(b, out.key).string() + ".lock");
  if (auto l = cached_layer(b, out.key, layout)) {
    log::info("base: cached layer " + l->descriptor.digest.str());
    out.layer = *l;
    out.cached = true;
    return out;
  }
  fs::create_directories(b.cache_root / "tmp");
  TempDir work("base", b.cache_root / "tmp");
  fs::path root = work / "root";
  run_mmdebstrap(b, root);
  check_versions(b, root);
  apply_drops(root, b.def.drop);
  oci::LayerOptions lo;
  lo.source_date_epoch = b.source_date_epoch;
  lo.compression = b.compression;
  lo.progress_label = "write base layer";
  oci::LayerWriter w(lo);
  w.add_directory(root);
  out.layer = w.write(layout);
  remember(b, out.key, out.layer, layout);
  log::info("base: layer " + out.layer.descriptor.digest.str() + " (" + std::to_string(out.layer.entries) +
            " entries)");
  return out;
}

}  // namespace ksimg::layers
