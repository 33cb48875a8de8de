// The `debian` toolchain kind (toolchain.hpp; issue 4 "Recipes: debian"): no dpkg, no
// chroot. Each locked .deb comes through the download cache from <mirror>/<pool path>
// (size and sha256 from the signed index, as the lock recorded them); LayerWriter streams
// its data.tar.* into the layer. Staged beside it: /var/lib/dpkg/status.d/<pkg> with the
// package's control paragraph and <pkg>.md5sums (the distroless layout Trivy and Syft read),
// and the unversioned /usr/bin/<triple>-<tool> links the kernel's CROSS_COMPILE calls.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "layers/cache.hpp"
#include "layers/toolchain_kinds.hpp"
#include "oci/deb.hpp"
#include "recipes/apt_sources.hpp"
#include "recipes/deb_control.hpp"
#include "recipes/deb_version.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers::detail {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kVersionedTools = {"gcc",  "cpp",       "gcc-ar",    "gcc-nm",  "gcc-ranlib",
                                                  "gcov", "gcov-dump", "gcov-tool", "lto-dump"};

void write_text(const fs::path& p, std::string text) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw RuntimeError(errno_text("cannot write", p.string()));
}

// The control paragraph must be the package the lock names.
void check_identity(const recipes::LockedPackage& p, const std::string& control, const fs::path& deb) {
  auto paras = recipes::parse_paragraphs(control);
  std::string name = paras.empty() ? "" : paras[0].folded("Package");
  std::string version = paras.empty() ? "" : paras[0].folded("Version");
  if (name != p.name || version != p.version)
    throw IntegrityError(deb.string() + " is " + name + " " + version + ", but the lock pins " + p.name +
                         " " + p.version + " at that sha256; re-run 'ksimg lock'");
}

bool is_version(std::string_view s) {
  return !s.empty() && std::isdigit(static_cast<unsigned char>(s[0])) &&
         s.find_first_not_of("0123456789.") == std::string_view::npos;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> cross_links(const std::vector<std::string>& paths,
                                                             const std::string& triple) {
  std::set<std::string> have(paths.begin(), paths.end());
  std::map<std::string, std::pair<std::string, std::string>> best;  // link -> (version, target)
  for (const auto& p : paths) {
    for (const auto& tool : kVersionedTools) {
      std::string name = triple + "-" + tool, prefix = "usr/bin/" + name + "-";
      std::string version = p.starts_with(prefix) ? p.substr(prefix.size()) : "";
      if (!is_version(version) || have.count("usr/bin/" + name)) continue;
      auto& cur = best["usr/bin/" + name];
      if (cur.first.empty() || recipes::compare_deb_versions(version, cur.first) > 0)
        cur = {version, name + "-" + version};
    }
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [link, v] : best) out.emplace_back(link, v.second);
  return out;
}

ToolchainLayer build_debian(const BuildContext& ctx, const matrix::Recipe& recipe,
                            const recipes::LockedRecipe& locked, int64_t epoch, const oci::Layout& layout) {
  std::string mirror = recipes::discover_debian_mirror(ctx.debian_mirror);
  while (mirror.ends_with('/')) mirror.pop_back();
  DownloadCache cache(ctx.cache_root);
  oci::LayerWriter w(layer_options(ctx, epoch, layout, "write " + recipe.name + " layer"));
  TempDir staging("toolchain-staging", layout.temp_dir());
  ToolchainLayer out;
  std::vector<std::string> paths;
  for (const auto& p : locked.packages) {
    auto got = cache.fetch(*ctx.transport, {mirror + "/" + p.filename}, p.sha256, p.size, ctx.verify_cache);
    log::debug(p.name + " " + p.version + (got.hit ? ": cached" : ": downloaded") + " (" + got.file.string() +
               ")");
    auto deb = oci::read_deb_control(got.file, true);
    check_identity(p, deb.control, got.file);
    w.add_archive_file(got.file);
    fs::path status = staging.path() / "var/lib/dpkg/status.d";
    write_text(status / p.name, deb.control);
    if (deb.md5sums) write_text(status / (p.name + ".md5sums"), *deb.md5sums);
    for (const auto& m : deb.data) paths.push_back(m.path);
    out.packages.push_back(p.name + "=" + p.version);
  }
  for (const auto& [link, target] : cross_links(paths, recipe.triple)) {
    fs::create_directories(staging.path() / link.substr(0, link.rfind('/')));
    fs::create_symlink(target, staging.path() / link);
    log::debug("link /" + link + " -> " + target);
  }
  normalise_staging(staging.path(), epoch);
  w.add_directory(staging.path());
  out.layer = w.write(layout);
  out.cross_compile = recipe.triple + "-";
  out.source = "debian " + locked.suite;
  return out;
}

}  // namespace ksimg::layers::detail
