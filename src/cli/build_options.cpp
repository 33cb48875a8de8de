// Shared build options (see build_options.hpp).
#include "cli/build_options.hpp"

#include <cstdlib>

#include "cli/commands.hpp"
#include "layers/cache.hpp"
#include "oci/index.hpp"
#include "recipes/lock.hpp"
#include "util/files.hpp"

namespace ksimg::cli {

std::string default_layout() {
  if (const char* e = std::getenv("KSIMG_LAYOUT"); e && *e) return e;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/ksimg/oci";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/ksimg/oci";
}

void add_layout_option(CLI::App* sub, std::string& layout) {
  layout = default_layout();
  sub->add_option("--layout", layout,
                  "OCI image layout of cell images (env KSIMG_LAYOUT; default $XDG_DATA_HOME/ksimg/oci)")
      ->capture_default_str();
}

void add_build_options(CLI::App* sub, BuildOpts& o) {
  sub->add_option("--lock", o.lock_file, "Lock file (env KSIMG_LOCK)")
      ->envname("KSIMG_LOCK")
      ->capture_default_str();
  sub->add_option(
      "--cache", o.cache,
      "Download and layer cache (env KSIMG_CACHE; default $XDG_CACHE_HOME/ksimg or ~/.cache/ksimg)");
  sub->add_option("--debian-mirror", o.debian_mirror,
                  "Debian archive root URL (env KSIMG_DEBIAN_MIRROR); default: the host's apt sources")
      ->envname("KSIMG_DEBIAN_MIRROR");
  sub->add_option("--tarball-mirror", o.tarball_mirror,
                  "Base URL tried first for tarballs, as <URL>/<file name> (env KSIMG_TARBALL_MIRROR)")
      ->envname("KSIMG_TARBALL_MIRROR");
  sub->add_option("--source-mirror", o.source_mirror,
                  "Registry repository REG/REPO holding mirrored sources ('ksimg mirror push'), tried before "
                  "any URL; what it serves is verified by the pin (env KSIMG_SOURCE_MIRROR)")
      ->envname("KSIMG_SOURCE_MIRROR");
  sub->add_option("--keyring", o.keyring, "Keyring for Debian signatures (env KSIMG_DEBIAN_KEYRING)")
      ->envname("KSIMG_DEBIAN_KEYRING")
      ->capture_default_str();
  sub->add_option("--compression", o.compression, "Layer compression: gzip (default) or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  sub->add_flag(
      "--allow-unpinned", o.allow_unpinned,
      "Build a toolchain the lock does not pin (missing, pending or changed) from its recipe as it is");
  sub->add_flag("--verify-cache", o.verify_cache, "Re-hash cached downloads before using them");
}

layers::BuildContext build_context(const BuildOpts& o, http::Transport& t) {
  layers::BuildContext ctx;
  ctx.data_dir = global().data_dir;
  if (auto text = files::read_if_exists(o.lock_file)) ctx.lock = recipes::parse_lock(*text, o.lock_file);
  ctx.lock_file = o.lock_file;
  ctx.cache_root = layers::default_cache_root(o.cache);
  ctx.debian_mirror = o.debian_mirror;
  ctx.tarball_mirror = o.tarball_mirror;
  ctx.keyring = o.keyring;
  ctx.allow_unpinned = o.allow_unpinned;
  ctx.verify_cache = o.verify_cache;
  ctx.compression = oci::parse_compression(o.compression);
  ctx.transport = &t;
  ctx.source_mirror = open_source_mirror(o.source_mirror);
  return ctx;
}

// Images of another architecture than this machine's run under qemu-user: mmdebstrap's
// maintainer scripts, the smoke check. Without the binfmt handler both would fail late.
void require_emulation(const std::vector<oci::Platform>& platforms) {
  for (const auto& p : platforms) {
    if (p == oci::running_platform() || p.architecture != "arm64") continue;
    auto text = files::read_if_exists("/proc/sys/fs/binfmt_misc/qemu-aarch64");
    if (!text || text->rfind("enabled", 0) != 0)
      throw RuntimeError(
          "building linux/arm64 images here needs qemu-user binfmt for aarch64, which is not enabled; "
          "install "
          "qemu-user-static binfmt-support arch-test and run 'update-binfmts --enable qemu-aarch64'");
  }
}

}  // namespace ksimg::cli
