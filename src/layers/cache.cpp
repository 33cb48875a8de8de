// The sha256-addressed download cache (see cache.hpp). Durability follows util/files: the
// temp file is fsynced and renamed into <root>/sha256/, then the directory is fsynced, so a
// crash leaves either nothing or verified bytes. kernelsmith's mirror rule (mirror.nix): the
// first URL that yields bytes matching the pinned sha256 wins; the hash makes mirrors
// trust-free.
#include "layers/cache.hpp"

#include <unistd.h>

#include <cstdlib>
#include <optional>

#include "oci/digest.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace ksimg::layers {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string mib(uint64_t b) {
  return std::to_string(b >> 20) + "." + std::to_string((b & 0xfffff) * 10 >> 20) + " MiB";
}

struct Attempt {
  files::AtomicFile& tmp;
  std::optional<oci::Sha256> hasher;
  uint64_t got = 0;

  void restart() {
    if (::ftruncate(tmp.fd(), 0) != 0 || ::lseek(tmp.fd(), 0, SEEK_SET) != 0)
      throw RuntimeError(errno_text("cannot truncate", tmp.temp_path().string()));
    hasher.emplace();
    got = 0;
  }
  void take(std::string_view chunk) {
    tmp.write(chunk);
    hasher->update(chunk);
    got += chunk.size();
  }
};

}  // namespace

namespace detail {

// The mirror's copy of `pin` in a fresh file under <root>/tmp, or nullopt when there is no
// mirror or it lacks the source. A mirror that fails is warned about, not fatal: the URLs
// are tried next (the pin decides what is accepted, wherever it came from).
std::optional<fs::path> from_mirror(SourceMirror* mirror, const fs::path& root, const SourcePin& pin) {
  if (!mirror) return std::nullopt;
  fs::create_directories(root / "tmp");
  fs::path tmp = root / "tmp" /
                 ("mirror-" + std::to_string(::getpid()) + "-" +
                  (pin.sha256.empty() ? oci::sha256(pin.nar_sha256).hex() : pin.sha256));
  try {
    if (mirror->fetch(pin, tmp)) return tmp;
    log::info("source mirror " + mirror->name() + " does not hold " +
              (pin.name.empty() ? pin.sha256 : pin.name) + "; trying the upstream URLs");
  } catch (const Error& e) {
    log::warn("source mirror " + mirror->name() + ": " + e.what() + "; trying the upstream URLs");
  }
  std::error_code ec;
  fs::remove(tmp, ec);
  return std::nullopt;
}

}  // namespace detail

fs::path default_cache_root(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (auto v = env("KSIMG_CACHE"); !v.empty()) return v;
  if (auto v = env("XDG_CACHE_HOME"); !v.empty() && v[0] == '/') return fs::path(v) / "ksimg";
  if (auto v = env("HOME"); !v.empty()) return fs::path(v) / ".cache" / "ksimg";
  throw UsageError("no download cache directory: pass --cache DIR or set KSIMG_CACHE (HOME is not set)");
}

DownloadCache::DownloadCache(fs::path root) : root_(std::move(root)) {}

fs::path DownloadCache::path_of(const std::string& sha256) const {
  return root_ / "sha256" / oci::Digest::from_hex(sha256).hex();
}

std::optional<fs::path> DownloadCache::lookup(const std::string& sha256, std::optional<uint64_t> size,
                                              bool verify) const {
  fs::path p = path_of(sha256);
  std::error_code ec;
  auto have = fs::file_size(p, ec);
  if (ec) return std::nullopt;
  std::string bad;
  if (size && have != *size)
    bad = std::to_string(have) + " bytes instead of " + std::to_string(*size);
  else if (verify && oci::sha256_file(p).hex() != sha256)
    bad = "bytes that do not hash to it";
  if (bad.empty()) return p;
  log::warn("cache entry " + p.string() + " holds " + bad + "; removing it and downloading again");
  fs::remove(p, ec);
  return std::nullopt;
}

// One URL, with retries: streams into `tmp` while hashing, then checks size and digest.
static void download_one(http::Transport& t, const http::RetryPolicy& retry, const std::string& url,
                         files::AtomicFile& tmp, const std::string& sha256, std::optional<uint64_t> size,
                         uint64_t max_bytes) {
  http::Request req;
  req.url = url;
  req.max_bytes = size ? *size : max_bytes;
  Attempt a{tmp, std::nullopt};
  http::Response resp;
  Progress progress("download " + url.substr(url.rfind('/') + 1), size.value_or(0));
  try {
    resp = http::with_retry(
        [&] {
          a.restart();
          progress.set(0);
          return t.send(req, [&](std::string_view chunk) {
            a.take(chunk);
            progress.add(chunk.size());
          });
        },
        retry);
  } catch (const http::TooLargeError&) {
    if (!size) throw;
    throw IntegrityError(url + " serves more than the pinned " + std::to_string(*size) + " bytes (sha256 " +
                         sha256 + ")");
  }
  http::expect_ok(req, resp);
  std::string actual = a.hasher->finish().hex();
  if (size && a.got != *size)
    throw IntegrityError(url + " served " + std::to_string(a.got) + " bytes, the pin says " +
                         std::to_string(*size) + " (expected sha256 " + sha256 + ", got " + actual + ")");
  if (actual != sha256)
    throw IntegrityError(url + ": sha256 mismatch: expected " + sha256 + ", got " + actual);
}

// The source mirror's copy of `sha256`, moved to `dest` when its bytes match; nullopt when
// there is no mirror, it lacks the blob, or it served other bytes (warned about).
static std::optional<Fetched> from_mirror_verified(SourceMirror* mirror, const fs::path& root,
                                                   const std::string& sha256, std::optional<uint64_t> size,
                                                   const fs::path& dest) {
  auto m = detail::from_mirror(mirror, root, {"", {}, sha256, ""});
  if (!m) return std::nullopt;
  uint64_t n = 0;
  std::string got = oci::sha256_file(*m, &n).hex();
  if (got == sha256 && (!size || n == *size)) {
    fs::rename(*m, dest);
    files::sync_dir(dest.parent_path());
    log::info("fetched sha256 " + sha256 + " from source mirror " + mirror->name() + " (" + mib(n) + ")");
    return Fetched{dest, false, mirror->name(), n};
  }
  fs::remove(*m);
  log::warn("source mirror " + mirror->name() + " served bytes hashing to " + got + " for sha256 " + sha256 +
            "; refused them, trying the upstream URLs");
  return std::nullopt;
}

Fetched DownloadCache::fetch(http::Transport& t, const std::vector<std::string>& urls,
                             const std::string& sha256, std::optional<uint64_t> size, bool verify) const {
  fs::path dest = path_of(sha256);
  if (auto p = lookup(sha256, size, verify)) return {*p, true, "", fs::file_size(*p)};
  if (urls.empty() && !mirror)
    throw UsageError("nothing to download sha256 " + sha256 + " from: no URL given");
  fs::create_directories(root_ / "sha256");
  fs::create_directories(root_ / "tmp");
  fs::create_directories(root_ / "locks");
  files::FileLock lock(root_ / "locks" / (sha256 + ".lock"));
  if (auto p = lookup(sha256, size, verify)) return {*p, true, "", fs::file_size(*p)};  // fetched meanwhile
  if (auto got = from_mirror_verified(mirror, root_, sha256, size, dest)) return *got;
  if (urls.empty())
    throw RuntimeError("source mirror " + mirror->name() + " could not serve sha256 " + sha256 +
                       " and no URL is given for it; push it there ('ksimg mirror push')");
  std::string why;
  bool integrity = false;
  for (const auto& url : urls) {
    files::AtomicFile tmp(root_ / "tmp" / sha256);
    try {
      download_one(t, retry, url, tmp, sha256, size, max_bytes);
      uint64_t n = fs::file_size(tmp.temp_path());
      tmp.commit_to(dest);
      log::info("downloaded " + url + " (" + mib(n) + ")");
      return {dest, false, url, n};
    } catch (const IntegrityError& e) {
      integrity = true;
      why += std::string(why.empty() ? "" : "; ") + e.what();
      log::warn(std::string(e.what()) + (&url != &urls.back() ? "; trying the next URL" : ""));
    } catch (const RuntimeError& e) {
      why += std::string(why.empty() ? "" : "; ") + e.what();
      log::warn(std::string(e.what()) + (&url != &urls.back() ? "; trying the next URL" : ""));
    }
  }
  std::string msg =
      "cannot download sha256 " + sha256 + " from any of " + std::to_string(urls.size()) + " URL(s): " + why;
  if (integrity) throw IntegrityError(msg + "; nothing was cached (fix the pin or the mirror)");
  throw RuntimeError(msg +
                     "; check the network, or put a reachable mirror first (--source-mirror, "
                     "--tarball-mirror, --debian-mirror)");
}

}  // namespace ksimg::layers
