// Getting the kernel source (see source.hpp). Downloads use the image's curl, checks its
// sha256sum, extraction its tar (xz/gz by suffix) -- kbuild links no network or archive
// library. Mirror layout and sha256sums.asc parsing: kbuild/mirror.hpp.
#include "kbuild/source.hpp"

#include <sys/stat.h>

#include "kbuild/mirror.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

namespace {

bool same_version(const matrix::Version& a, const matrix::Version& b) {
  return a.band_compare(b) == 0 && a.rc == b.rc;
}

std::optional<fs::path> default_source(const BuildOptions& o) {
  if (o.source) return o.source;
  std::error_code ec;
  if (fs::exists("/src", ec)) return fs::path("/src");
  return std::nullopt;
}

// "<path> <size> <mtime>" of a tarball: unchanged means the extracted tree can be reused (and
// its mtimes kept, so the build stays incremental).
std::string stamp_of(const fs::path& f) {
  struct stat st {};
  if (::stat(f.c_str(), &st) != 0) throw UsageError(errno_text("cannot read the source", f.string()));
  return fs::absolute(f).string() + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtime) +
         "\n";
}

fs::path single_top(const fs::path& dir) {
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(dir)) entries.push_back(e.path());
  if (entries.size() == 1 && fs::is_directory(entries[0])) return entries[0];
  if (fs::exists(dir / "Makefile")) return dir;
  throw IntegrityError("the tarball holds no single kernel directory (found " +
                       std::to_string(entries.size()) + " entries at its top)");
}

fs::path extract(const fs::path& tarball, const Plan& p, Runner& r) {
  fs::create_directories(p.work);
  fs::path dest = p.work / "tree", stamp = p.work / "tree.from";
  std::string want = stamp_of(tarball);
  if (files::read_if_exists(stamp).value_or("") == want && fs::is_directory(dest)) {
    log::info("source: reusing " + dest.string() + " (extracted from the same tarball before)");
    return single_top(dest);
  }
  fs::remove_all(dest);
  fs::remove(stamp);
  fs::path tmp = p.work / "tree.partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  log::info("source: extracting " + tarball.string());
  if (r.run({"tar", "-xf", fs::absolute(tarball).string(), "-C", tmp.string()}, "extract") != 0)
    throw IntegrityError("cannot extract " + tarball.string() + " (corrupt or truncated: " + r.first_error() +
                         "); fetch it again");
  fs::rename(tmp, dest);
  files::write_atomic(stamp, want);
  return single_top(dest);
}

std::string fetch_text(const std::string& url, Runner& r) {
  auto res = subprocess::run({"curl", "-fsSL", "--retry", "3", url});
  r.note("$ curl -fsSL " + url + " -> exit " + std::to_string(res.status));
  if (!res.ok())
    throw RuntimeError("cannot download " + url + ": " + subprocess::describe_failure({"curl"}, res));
  return res.out;
}

void verify(const fs::path& f, const std::string& want, const std::string& what) {
  std::string got = sha256_file(f);
  if (got != want)
    throw IntegrityError(what + ": sha256 " + got + " does not match the expected " + want +
                         "; the file is corrupt or not the release (delete it and retry)");
}

Source download(const BuildOptions& o, const Plan& p, Runner& r, const std::string& mirror) {
  fs::create_directories(p.work);
  std::string tried;
  for (const auto& e : tarball_candidates(p.version)) {
    std::string url = join_url(mirror, e.path());
    fs::path file = p.work / e.name, part = p.work / (e.name + ".part");
    if (!fs::exists(file)) {
      log::info("source: downloading " + url);
      int st = r.run({"curl", "-fSL", "--retry", "3", "-o", part.string(), url}, "download");
      if (st != 0) {
        tried += (tried.empty() ? "" : ", ") + url;
        fs::remove(part);
        continue;
      }
      fs::rename(part, file);
    }
    std::string want;
    if (o.sha256) {
      want = *o.sha256;
    } else {
      auto sums = parse_sha256sums(fetch_text(sums_url(mirror, e), r));
      auto h = find_sha256(sums, e.name);
      if (!h)
        throw IntegrityError(sums_url(mirror, e) + " lists no sha256 for " + e.name + "; pass --sha256");
      want = *h;
    }
    try {
      verify(file, want, url);
    } catch (const IntegrityError&) {
      fs::remove(file);
      throw;
    }
    return {extract(file, p, r), "download", url, want, true};
  }
  throw RuntimeError("no tarball for " + p.version.str() + " on the mirror (tried " + tried +
                     "); check --mirror/KSIMG_KERNEL_MIRROR or pass --source");
}

}  // namespace

std::string sha256_file(const fs::path& f) {
  auto r = subprocess::run({"sha256sum", "-b", f.string()});
  if (!r.ok()) throw RuntimeError(subprocess::describe_failure({"sha256sum"}, r));
  return r.out.substr(0, r.out.find(' '));
}

void check_version(const fs::path& tree, const matrix::Version& v) {
  auto mk = files::read_if_exists(tree / "Makefile");
  if (!mk)
    throw UsageError(tree.string() + " has no top-level Makefile; --source must be a Linux kernel tree");
  auto have = matrix::parse_makefile_version(*mk, (tree / "Makefile").string());
  if (!same_version(have, v))
    throw UsageError("the source is Linux " + have.str() + " (" + (tree / "Makefile").string() + ") but " +
                     v.str() + " was requested; pass the matching version or source");
}

void check_clean(const fs::path& tree) {
  for (const char* f : {".config", "include/config"})
    if (fs::exists(tree / f))
      throw UsageError("the source tree " + tree.string() + " is not clean (it has " + f +
                       "): kbuild builds out of tree (O=) and the kernel refuses a configured source; run "
                       "`make mrproper` in a copy of it, or pass the tarball");
}

std::string describe_source(const BuildOptions& o, const std::string& mirror) {
  auto s = default_source(o);
  if (s) return (fs::is_directory(*s) ? "tree " : "tarball ") + s->string();
  return "download from " + mirror + " (verified against sha256sums.asc)";
}

Source obtain_source(const BuildOptions& o, const Plan& p, Runner& r, const std::string& mirror) {
  Source s;
  if (auto src = default_source(o)) {
    if (!fs::exists(*src)) throw UsageError("--source " + src->string() + " does not exist");
    if (fs::is_directory(*src)) {
      s = {fs::absolute(*src), "tree", src->string(), std::nullopt, false};
      check_clean(s.tree);
    } else {
      std::optional<std::string> h;
      if (o.sha256) verify(*src, *o.sha256, src->string()), h = o.sha256;
      s = {extract(*src, p, r), "tarball", src->string(), h, true};
    }
  } else {
    s = download(o, p, r, mirror);
  }
  check_version(s.tree, p.version);
  return s;
}

Source writable_copy(const Source& s, const Plan& p, Runner& r) {
  fs::path dest = p.work / "tree-copy";
  if (!fs::exists(dest / "Makefile")) {
    log::info("source: copying " + s.tree.string() + " to " + dest.string() + " (a quirk patches files)");
    fs::remove_all(dest);
    fs::create_directories(p.work);
    r.must({"cp", "-a", s.tree.string(), dest.string()}, "copy source");
  }
  Source c = s;
  c.tree = dest;
  c.in_work_dir = true;
  return c;
}

}  // namespace ksimg::kbuild
