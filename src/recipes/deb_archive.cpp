// Reading a Debian suite (see deb_archive.hpp), after the repository format
// (https://wiki.debian.org/DebianRepository/Format): dists/<suite>/InRelease, then the
// component's binary-<arch>/Packages index checked against the signed Release's SHA256
// list, fetched by hash when the Release says Acquire-By-Hash (so a mirror updating
// mid-run cannot hand us a newer index than the Release we verified).
#include "recipes/deb_archive.hpp"

#include <ctime>

#include "http/fetch.hpp"
#include "oci/digest.hpp"
#include "oci/peek.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::recipes {

namespace {

constexpr uint64_t kInReleaseMax = uint64_t{32} << 20;
constexpr size_t kIndexMax = size_t{1} << 30;  // decompressed Packages

std::string mib(uint64_t bytes) {
  return std::to_string(bytes / (1 << 20)) + "." + std::to_string(bytes % (1 << 20) * 10 / (1 << 20)) +
         " MiB";
}

std::string fetch_inrelease(http::Transport& t, const std::string& url, const std::string& suite) {
  try {
    return http::get(t, url, kInReleaseMax).body;
  } catch (const http::StatusError& e) {
    if (e.status != 404) throw;
    throw RuntimeError(std::string(e.what()) + ": suite '" + suite +
                       "' is not on this mirror; check the recipe's suite or --debian-mirror");
  }
}

Release checked_release(const std::string& text, const std::string& what, const std::string& suite,
                        int64_t now) {
  Release r = parse_release(text, what);
  if (r.suite != suite && r.codename != suite)
    throw IntegrityError(what + " is for suite " + r.suite + " (codename " + r.codename + "), not " + suite +
                         "; the mirror serves the wrong file");
  if (r.valid_until_epoch && *r.valid_until_epoch < now)
    throw IntegrityError(what + " expired at " + *r.valid_until +
                         " (Valid-Until): the mirror is stale or replays old metadata; use another mirror");
  return r;
}

std::vector<std::string> index_candidates(const Release& r, const ArchiveOptions& o,
                                          const std::string& what) {
  std::string base = o.component + "/binary-" + o.arch + "/Packages";
  std::vector<std::string> out;
  for (const char* ext : {".xz", ".gz"})
    if (r.sha256.count(base + ext)) out.push_back(base + ext);
  if (out.empty())
    throw IntegrityError(what + " lists no " + base + ".xz or .gz in its SHA256 list; does the suite have " +
                         o.component + " for " + o.arch + "?");
  return out;
}

void verify_file(const std::filesystem::path& file, const IndexEntry& want, const std::string& url) {
  uint64_t size = 0;
  oci::Digest got = oci::sha256_file(file, &size);
  if (got.hex() != want.sha256 || size != want.size)
    throw IntegrityError(url + ": sha256 " + got.hex() + ", " + std::to_string(size) +
                         " bytes, but the signed Release says sha256 " + want.sha256 + ", " +
                         std::to_string(want.size) +
                         " bytes; the mirror is inconsistent or mid-sync: "
                         "retry later or use another mirror");
}

// Downloads and verifies one index; false when the mirror does not have it (404).
bool fetch_index(http::Transport& t, const std::string& dists, const std::string& path, const IndexEntry& e,
                 bool by_hash, const std::filesystem::path& file) {
  std::vector<std::string> urls;
  if (by_hash) urls.push_back(dists + "/" + path.substr(0, path.rfind('/')) + "/by-hash/SHA256/" + e.sha256);
  urls.push_back(dists + "/" + path);
  for (const auto& url : urls) {
    try {
      http::get_to_file(t, url, file, e.size);
    } catch (const http::StatusError& err) {
      if (err.status == 404) continue;
      throw;
    } catch (const http::TooLargeError&) {
      throw IntegrityError(url + ": more than the " + std::to_string(e.size) +
                           " bytes the signed Release lists; the mirror is inconsistent: use another mirror");
    }
    verify_file(file, e, url);
    return true;
  }
  return false;
}

}  // namespace

SuiteIndex load_suite(http::Transport& t, const ArchiveOptions& o, const std::string& suite,
                      const std::set<std::string>& wanted) {
  SuiteIndex s;
  s.name = suite;
  std::string dists = o.mirror + "/dists/" + suite;
  std::string url = dists + "/InRelease";
  std::string inrelease = fetch_inrelease(t, url, suite);
  s.inrelease_sha256 = oci::sha256(inrelease).hex();
  std::string text = verify_inrelease(inrelease, o.keyring, url);
  s.release = checked_release(text, url, suite, o.now ? o.now : static_cast<int64_t>(std::time(nullptr)));
  log::info(suite + ": InRelease verified (" + s.release.codename + ", " + s.release.suite + ", " +
            s.release.date + ")");
  TempDir tmp("ksimg-index");
  for (const auto& path : index_candidates(s.release, o, url)) {
    const IndexEntry& e = s.release.sha256.at(path);
    log::info(suite + ": fetching " + path + " (" + mib(e.size) + ")");
    if (!fetch_index(t, dists, path, e, s.release.acquire_by_hash, tmp / "index")) {
      log::info(suite + ": " + dists + "/" + path + " is not on the mirror; trying the next index");
      continue;
    }
    s.index_path = path;
    s.index = e;
    std::string plain = oci::decompress_file(tmp / "index", kIndexMax);
    s.packages = parse_packages(plain, dists + "/" + path, &wanted);
    return s;
  }
  throw RuntimeError(dists +
                     ": none of the Packages indexes the Release lists is on the mirror (HTTP 404); "
                     "use another mirror (--debian-mirror)");
}

}  // namespace ksimg::recipes
