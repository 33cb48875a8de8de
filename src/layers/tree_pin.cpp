// Tree pins (see tree_pin.hpp) and DownloadCache::fetch_tree / fetch_source (cache.hpp).
// An archive pinned by nar_sha256 has no byte hash to address it by, so it is cached under
// <root>/nar/<hex of the NAR hash>: whatever compression served it, only an archive whose
// unpacked tree has that hash is ever stored there. The source mirror is tried first, then
// each URL; a wrong tree names the source, where it came from and both hashes.
#include "layers/tree_pin.hpp"

#include <unistd.h>

#include "layers/cache.hpp"
#include "oci/extract.hpp"
#include "oci/nar.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers {

namespace fs = std::filesystem;

namespace detail {
std::optional<fs::path> from_mirror(SourceMirror* mirror, const fs::path& root, const SourcePin& pin);
}

std::string archive_nar_sri(const fs::path& archive, const fs::path& scratch_parent) {
  fs::create_directories(scratch_parent);
  TempDir work("nar", scratch_parent);
  fs::path tree = work / "tree";
  fs::create_directories(tree);
  oci::extract_archive(archive, tree, {.strip_top_dir = true, .progress_label = ""});
  return oci::to_sri(oci::nar_sha256(tree));
}

namespace {

oci::Digest nar_digest(const SourcePin& pin) {
  auto d = oci::from_sri(pin.nar_sha256);
  if (!d)
    throw UsageError(pin.name + ": nar_sha256 '" + pin.nar_sha256 + "' is not sha256-<base64 of 32 bytes>");
  return *d;
}

// Keeps `file` as the cached archive when its tree matches; else returns why not.
std::string accept_tree(const fs::path& root, const SourcePin& pin, const fs::path& file,
                        const fs::path& dest, const std::string& origin) {
  std::string got;
  try {
    got = archive_nar_sri(file, root / "tmp");
  } catch (const IntegrityError& e) {
    return origin + " served an archive ksimg cannot unpack as a source tree (" + e.what() + ")";
  }
  if (got != pin.nar_sha256)
    return origin + ": tree (NAR) hash mismatch for " + pin.name + ": expected " + pin.nar_sha256 + ", got " +
           got;
  fs::rename(file, dest);
  files::sync_dir(dest.parent_path());
  return "";
}

}  // namespace

Fetched DownloadCache::fetch_tree(http::Transport& t, const SourcePin& pin) const {
  fs::path dest = root_ / "nar" / nar_digest(pin).hex();
  std::error_code ec;
  if (fs::exists(dest, ec)) return {dest, true, "", fs::file_size(dest)};
  for (const char* d : {"nar", "tmp", "locks"}) fs::create_directories(root_ / d);
  files::FileLock lock(root_ / "locks" / ("nar-" + dest.filename().string() + ".lock"));
  if (fs::exists(dest, ec)) return {dest, true, "", fs::file_size(dest)};
  std::string why;
  if (auto m = detail::from_mirror(mirror, root_, pin)) {
    why = accept_tree(root_, pin, *m, dest, "source mirror " + mirror->name());
    if (why.empty()) {
      log::info("fetched " + pin.name + " from source mirror " + mirror->name() + " (tree " + pin.nar_sha256 +
                " verified)");
      return {dest, false, mirror->name(), fs::file_size(dest)};
    }
    fs::remove(*m, ec);
    log::warn(why + "; refused it, trying the upstream URLs");
  }
  for (const auto& url : pin.urls) {
    fs::path tmp = root_ / "tmp" / ("tree-" + std::to_string(::getpid()) + "-" + dest.filename().string());
    std::string err;
    try {
      http::get_to_file(t, url, tmp, max_bytes, retry);
      err = accept_tree(root_, pin, tmp, dest, url);
      if (err.empty()) {
        log::info("downloaded " + url + " (tree " + pin.nar_sha256 + " verified)");
        return {dest, false, url, fs::file_size(dest)};
      }
    } catch (const RuntimeError& e) {
      err = e.what();
    }
    fs::remove(tmp, ec);
    why += (why.empty() ? "" : "; ") + err;
    log::warn(err + (&url != &pin.urls.back() ? "; trying the next URL" : ""));
  }
  std::string msg = "cannot get " + pin.name + " (tree " + pin.nar_sha256 + ") from " +
                    (mirror ? "the source mirror or " : "") + "any of " + std::to_string(pin.urls.size()) +
                    " URL(s): " + why;
  if (why.find("mismatch") != std::string::npos)
    throw IntegrityError(msg + "; nothing was cached (fix the pin or the mirror)");
  throw RuntimeError(msg + "; check the network, or pass --source-mirror REG/REPO holding it");
}

Fetched DownloadCache::fetch_source(http::Transport& t, const SourcePin& pin, bool verify) const {
  if (!pin.sha256.empty()) return fetch(t, pin.urls, pin.sha256, std::nullopt, verify);
  return fetch_tree(t, pin);
}

}  // namespace ksimg::layers
