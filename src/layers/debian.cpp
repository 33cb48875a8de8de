// The `debian` toolchain kind (toolchain.hpp): no dpkg, no
// chroot. Each locked .deb comes through the download cache from <mirror>/<pool path>
// (size and sha256 from the signed index, as the lock recorded them); LayerWriter streams
// its data.tar.* into the layer. Staged beside it: /var/lib/dpkg/status.d/<pkg> with the
// package's control paragraph and <pkg>.md5sums (the distroless layout Trivy and Syft read),
// and the unversioned /usr/bin/<triple>-<tool> links the kernel's CROSS_COMPILE calls.
// A recipe with an install_dir (the native bullseye x86_64 compiler, whose binutils have
// the very names of the base's) gets its binutils package's usr/bin and the CROSS_COMPILE
// links at <install_dir>/bin, first on PATH, and its gcc pointed at its own as/ld, so the
// base's host compiler keeps the base's binutils.
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

// The md5sums file lists paths as the package has them; the layer has them moved.
std::string moved_md5sums(const std::string& text,
                          const std::vector<std::pair<std::string, std::string>>& moves) {
  if (moves.empty()) return text;
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t sep = line.find("  ");
    if (sep != std::string::npos) line = line.substr(0, sep + 2) + apply_moves(line.substr(sep + 2), moves);
    out += line + "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> debian_moves(const std::string& install_dir,
                                                              const std::string& triple) {
  if (install_dir.empty()) return {};
  std::string to = install_dir.substr(install_dir.find_first_not_of('/'));
  return {{"usr/bin", to + "/bin"}, {"usr/lib/" + triple + "/ldscripts", to + "/lib/ldscripts"}};
}

std::string apply_moves(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& moves) {
  for (const auto& [from, to] : moves)
    if (path == from || path.starts_with(from + "/")) return to + path.substr(from.size());
  return path;
}

std::vector<std::pair<std::string, std::string>> private_binutils_links(const std::vector<std::string>& paths,
                                                                        const std::string& triple,
                                                                        const std::string& install_dir) {
  std::set<std::string> have(paths.begin(), paths.end());
  std::vector<std::pair<std::string, std::string>> out;
  if (install_dir.empty()) return out;
  std::string gcc_dir = "usr/lib/gcc/" + triple + "/";
  for (const auto& p : paths) {
    if (!p.starts_with(gcc_dir) || !p.ends_with("/cc1")) continue;
    std::string dir = p.substr(0, p.size() - 4);
    if (dir.find('/', gcc_dir.size()) != std::string::npos) continue;  // usr/lib/gcc/<triple>/<N>/cc1 only
    for (const char* tool : {"as", "ld"})
      if (have.count("usr/bin/" + triple + "-" + tool))
        out.emplace_back(dir + "/" + tool, install_dir + "/bin/" + triple + "-" + tool);
  }
  std::sort(out.begin(), out.end());
  return out;
}

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
                            const recipes::DebianSpec& spec, const recipes::LockedRecipe& locked,
                            int64_t epoch, const oci::Layout& layout) {
  std::string mirror = recipes::discover_debian_mirror(ctx.debian_mirror);
  while (mirror.ends_with('/')) mirror.pop_back();
  DownloadCache cache(ctx.cache_root);
  oci::LayerWriter w(layer_options(ctx, epoch, layout, "write " + recipe.name + " layer"));
  TempDir staging("toolchain-staging", layout.temp_dir());
  ToolchainLayer out;
  std::vector<std::string> paths;
  oci::SourceOptions where;
  where.moves = debian_moves(spec.install_dir, recipe.triple);
  std::string own_binutils = "binutils-" + recipe.triple;
  std::replace(own_binutils.begin(), own_binutils.end(), '_', '-');  // binutils-x86-64-linux-gnu
  for (const auto& p : locked.packages) {
    auto got = cache.fetch(*ctx.transport, {mirror + "/" + p.filename}, p.sha256, p.size, ctx.verify_cache);
    log::debug(p.name + " " + p.version + (got.hit ? ": cached" : ": downloaded") + " (" + got.file.string() +
               ")");
    auto deb = oci::read_deb_control(got.file, true);
    check_identity(p, deb.control, got.file);
    // Only the recipe's own binutils move: gcc-N's driver finds cc1 relative to where it runs
    // from, and its versioned names do not collide with the base's; a compat ABI's cross
    // binutils (binutils-i686-linux-gnu) have names of their own and stay where their gcc
    // looks for them (/usr/<triple>/bin links to /usr/bin).
    bool moved = p.name == own_binutils;
    w.add_archive_file(got.file, moved ? where : oci::SourceOptions{});
    fs::path status = staging.path() / "var/lib/dpkg/status.d";
    write_text(status / p.name, deb.control);
    if (deb.md5sums)
      write_text(status / (p.name + ".md5sums"),
                 moved ? moved_md5sums(*deb.md5sums, where.moves) : *deb.md5sums);
    for (const auto& m : deb.data) paths.push_back(m.path);
    out.packages.push_back(p.name + "=" + p.version);
  }
  auto links = cross_links(paths, recipe.triple);
  for (auto& [link, target] :
       links) {  // with an install_dir: <install_dir>/bin/<triple>-gcc -> /usr/bin/<triple>-gcc-N
    if (spec.install_dir.empty()) continue;
    link = apply_moves(link, where.moves);
    target = "/usr/bin/" + target;
  }
  for (const auto& c : recipe.compat)  // i686-linux-gnu-gcc -> i686-linux-gnu-gcc-N, in /usr/bin
    for (const auto& l : cross_links(paths, c.triple)) links.push_back(l);
  for (const auto& l : private_binutils_links(paths, recipe.triple, spec.install_dir)) links.push_back(l);
  if (!spec.install_dir.empty()) fs::create_directories(staging.path() / spec.install_dir.substr(1));
  for (const auto& [link, target] : links) {
    fs::create_directories(staging.path() / link.substr(0, link.rfind('/')));
    fs::create_symlink(target, staging.path() / link);
    log::debug("link /" + link + " -> " + target);
  }
  normalise_staging(staging.path(), epoch);
  w.add_directory(staging.path());
  out.layer = w.write(layout);
  out.cross_compile = recipe.triple + "-";
  if (!spec.install_dir.empty()) out.path_dirs = {spec.install_dir + "/bin"};
  out.source = "debian " + locked.suite;
  return out;
}

}  // namespace ksimg::layers::detail
