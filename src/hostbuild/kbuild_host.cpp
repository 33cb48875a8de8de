// `ksimg kbuild` on the host, the parts that do not bind flags (see kbuild_host.hpp): the
// kernel source (given, or downloaded from a kernel.org-layout mirror and
// verified against sha256sums.asc, src/kbuild/mirror.hpp), and the podman invocation that runs
// the in-image kbuild with the source read-only, output and ccache read-write, network off.
#include "hostbuild/kbuild_host.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "http/fetch.hpp"
#include "kbuild/mirror.hpp"
#include "kbuild/plan.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::hostbuild {

SourcePlan given_source(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path);
  if (fs::is_directory(abs, ec)) return {abs, "/src", std::nullopt, abs.string()};
  if (fs::is_regular_file(abs, ec))
    return {abs, "/src/" + abs.filename().string(), std::nullopt, abs.string()};
  throw UsageError("kernel source " + path.string() +
                   " does not exist: give a kernel tree or tarball with --source, or omit it to download");
}

namespace {

// The sums of one mirror directory, or nullopt when the directory has no sha256sums.asc.
std::optional<std::map<std::string, std::string>> sums_of(http::Transport& t, const std::string& url) {
  try {
    return kbuild::parse_sha256sums(http::get(t, url, uint64_t{4} << 20).body);
  } catch (const http::StatusError& e) {
    if (e.status == 404 || e.status == 410) return std::nullopt;
    throw;
  }
}

}  // namespace

SourcePlan download_source(http::Transport& t, const layers::DownloadCache& cache, const std::string& mirror,
                           const matrix::Version& v, const std::string& sha256) {
  std::map<std::string, std::optional<std::map<std::string, std::string>>> by_dir;
  std::string tried;
  for (const auto& e : kbuild::tarball_candidates(v)) {
    std::string url = kbuild::join_url(mirror, e.path());
    std::string want = sha256;
    if (want.empty()) {
      std::string surl = kbuild::sums_url(mirror, e);
      if (!by_dir.count(e.dir)) by_dir[e.dir] = sums_of(t, surl);
      const auto& sums = by_dir[e.dir];
      auto h = sums ? kbuild::find_sha256(*sums, e.name) : std::nullopt;
      if (!h) {
        tried +=
            (tried.empty() ? "" : ", ") + url + (sums ? " (not in sha256sums.asc)" : " (no sha256sums.asc)");
        continue;
      }
      want = *h;
    }
    try {
      log::info("kernel source: " + url + " (sha256 " + want.substr(0, 12) + "...)");
      auto f = cache.fetch(t, {url}, want);
      if (f.hit) log::info("kernel source: cached " + f.file.string());
      return {f.file, "/src/" + e.name, want, url};
    } catch (const http::StatusError& err) {
      if (err.status != 404 && err.status != 410) throw;
      tried += (tried.empty() ? "" : ", ") + url + " (HTTP " + std::to_string(err.status) + ")";
    } catch (const RuntimeError& err) {
      // The cache reports a missing file among other causes; keep looking, and say why at the end.
      tried += (tried.empty() ? "" : ", ") + url + " (" + err.what() + ")";
    }
  }
  throw RuntimeError("no kernel " + v.str() + " tarball on " + mirror + ": tried " + tried +
                     "; check --mirror/KSIMG_KERNEL_MIRROR or pass --source");
}

std::string kernel_mirror(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* e = std::getenv("KSIMG_KERNEL_MIRROR"); e && *e) return e;
  return kbuild::default_kernel_mirror;
}

fs::path ccache_dir(const std::string& flag, const std::string& image_tag) {
  if (!flag.empty()) return fs::absolute(flag);
  fs::path base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    base = x;
  else if (const char* h = std::getenv("HOME"); h && *h)
    base = fs::path(h) / ".cache";
  else
    throw UsageError("neither XDG_CACHE_HOME nor HOME is set: pass --ccache-dir DIR");
  return base / "ksimg" / "ccache" / image_tag;
}

fs::path out_dir(const std::string& flag, const matrix::Version& v, const std::string& arch) {
  if (!flag.empty()) return fs::absolute(flag);
  return fs::absolute("kbuild-" + v.str() + "-" + arch);
}

void check_targets(const std::string& list) {
  std::vector<std::string> names;
  for (size_t at = 0; at <= list.size();) {  // empty items are skipped, as kbuild does
    size_t comma = std::min(list.find(',', at), list.size());
    if (comma > at) names.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  kbuild::check_targets(names);
}

namespace {

// Mounts `host` read-only at /in/<n>-<name> and returns that container path.
std::string mount_input(run::RunOptions& o, const std::string& host, const char* what) {
  std::error_code ec;
  if (!fs::is_regular_file(host, ec)) throw UsageError(std::string(what) + " " + host + " does not exist");
  std::string c = "/in/" + std::to_string(o.mounts.size()) + "-" + fs::path(host).filename().string();
  o.mounts.push_back({fs::absolute(host), c, true});
  return c;
}

void add_repeated(std::vector<std::string>& argv, const char* flag, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    argv.push_back(flag);
    argv.push_back(v);
  }
}

// --ccache-remote: ccache's remote storage (CCACHE_REMOTE_STORAGE). A redis+unix:// socket is
// mounted and the network stays off; redis:// and http:// need the network, and the host's
// (--network=host), so that a cache server on the host's 127.0.0.1 is reachable too.
void remote_ccache(run::RunOptions& o, const std::string& url) {
  if (url.empty()) return;
  o.env["CCACHE_REMOTE_STORAGE"] = url;
  if (url.rfind("redis+unix://", 0) == 0) {
    std::string sock =
        url.substr(13, url.find('?') == std::string::npos ? std::string::npos : url.find('?') - 13);
    o.mounts.push_back({sock, sock, false});
    return;
  }
  if (url.rfind("redis://", 0) != 0 && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw UsageError("--ccache-remote " + url +
                     ": expected redis://HOST:PORT, redis+unix:///PATH/TO/SOCKET or http(s)://URL (ccache's "
                     "remote_storage)");
  o.network_mode = "host";
}

}  // namespace

Invocation plan_invocation(const Request& r, const matrix::Version& v, const SourcePlan& src,
                           const fs::path& out, const std::optional<fs::path>& ccache, const ImageChoice& img,
                           unsigned euid) {
  Invocation inv;
  auto& o = inv.opts;
  run::run_as_caller(o, euid);
  o.tty = r.tty;
  o.mounts.push_back({src.host, src.container, true});
  o.mounts.push_back({out, "/out", false});
  if (ccache) o.mounts.push_back({*ccache, "/ccache", false});
  if (ccache) remote_ccache(o, r.ccache_remote);
  o.env["KSIMG_IMAGE_REF"] = img.ref;
  if (!img.digest.empty()) o.env["KSIMG_IMAGE_DIGEST"] = img.digest;
  if (const char* e = std::getenv("SOURCE_DATE_EPOCH"); e && *e) o.env["SOURCE_DATE_EPOCH"] = e;
  o.env["HOME"] = "/tmp";  // keep-id users have no home in the image
  auto& a = inv.argv;
  a = {"kbuild", "build", v.str(), "--source", src.container, "--out", "/out"};
  if (ccache)
    a.insert(a.end(), {"--ccache-dir", "/ccache"});
  else
    a.push_back("--no-ccache");
  if (src.sha256) a.insert(a.end(), {"--sha256", *src.sha256});
  if (!r.defconfig.empty()) a.insert(a.end(), {"--defconfig", r.defconfig});
  if (r.boot_config) a.insert(a.end(), {"--boot-config", "--boot-config-data", r.boot_config_data});
  if (!r.config.empty()) a.insert(a.end(), {"--config", mount_input(o, r.config, "--config file")});
  add_repeated(a, "--enable", r.enable);
  add_repeated(a, "--disable", r.disable);
  for (const auto& f : r.fragments) a.insert(a.end(), {"--fragment", mount_input(o, f, "--fragment file")});
  if (r.config_strict) a.push_back("--config-strict");
  if (!r.targets.empty())
    a.insert(a.end(), {"--targets", r.targets});
  else if (r.boot_test) {  // the boot runs on the host; the image builds the initramfs it boots
    std::string list;
    for (const auto& t : kbuild::default_targets(true)) list += (list.empty() ? "" : ",") + t;
    a.insert(a.end(), {"--targets", list});
  }
  if (!r.init_abi.empty()) a.insert(a.end(), {"--init-abi", r.init_abi});
  if (r.jobs > 0) a.insert(a.end(), {"--jobs", std::to_string(r.jobs)});
  if (r.force) a.push_back("--force");
  if (r.dry_run) a.push_back("--dry-run");
  return inv;
}

}  // namespace ksimg::hostbuild
