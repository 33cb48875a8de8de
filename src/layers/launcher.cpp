// Launcher layer (see launcher.hpp): staged in a temp dir and written by the canonical
// layer writer, so its digest depends only on the kbuild binary and the data.
#include "layers/launcher.hpp"

#include <elf.h>
#include <unistd.h>

#include <cstdlib>

#include "layers/elf.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers {

namespace fs = std::filesystem;

fs::path find_kbuild() {
  if (const char* env = std::getenv("KSIMG_KBUILD"); env && *env) {
    if (!fs::is_regular_file(env)) throw RuntimeError(std::string("KSIMG_KBUILD=") + env + " is not a file");
    return env;
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && fs::is_regular_file(self.parent_path() / "kbuild")) return self.parent_path() / "kbuild";
  throw RuntimeError(
      "no kbuild program next to ksimg; build both with scripts/build (build/kbuild) or set KSIMG_KBUILD to "
      "one");
}

fs::path find_kbuild_for(const std::string& arch) {
  if (arch == "amd64") return find_kbuild();
  if (arch != "arm64") throw UsageError("no kbuild launcher for host architecture '" + arch + "'");
  fs::path p;
  if (const char* env = std::getenv("KSIMG_KBUILD_ARM64"); env && *env) {
    p = env;
  } else {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    p = ec ? fs::path("kbuild-arm64") : self.parent_path() / "kbuild-arm64";
  }
  if (!fs::is_regular_file(p))
    throw RuntimeError(
        "no arm64 kbuild launcher at " + p.string() +
        "; build it with 'cmake --build BUILD --target kbuild-arm64' (or scripts/build-kbuild-arm64)"
        " or set KSIMG_KBUILD_ARM64 to one");
  auto h = peek_elf_header(files::read(p));
  if (!h || h->elf_class != ELFCLASS64 || h->big_endian || h->machine != EM_AARCH64)
    throw RuntimeError(p.string() +
                       " is not an arm64 (aarch64) ELF program; rebuild it (target kbuild-arm64)");
  return p;
}

namespace {

// Stages kbuild and the data below `stage`/root and adds that root to `w`.
void stage_launcher(oci::LayerWriter& w, const TempDir& stage, const fs::path& kbuild,
                    const matrix::DataFiles& data) {
  fs::path root = stage / "root";
  fs::create_directories(root / "usr/local/bin");
  fs::copy_file(kbuild, root / "usr/local/bin/kbuild");
  for (const auto& [rel, text] : data) {
    fs::path dest = root / "usr/share/ksimg" / rel;
    fs::create_directories(dest.parent_path());
    files::write_atomic(dest, text, 0644);
  }
  // Modes independent of the umask, so that a later launcher_diff_id agrees with this layer.
  for (const auto& e : fs::recursive_directory_iterator(root))
    fs::permissions(e.path(), e.is_directory() ? fs::perms(0755) : fs::perms(0644));
  fs::permissions(root / "usr/local/bin/kbuild", fs::perms(0755));
  w.add_directory(root);
}

}  // namespace

oci::LayerResult build_launcher_layer(const fs::path& kbuild, const matrix::DataFiles& data,
                                      int64_t source_date_epoch, oci::Compression compression,
                                      const oci::Layout& layout) {
  TempDir stage("launcher");
  oci::LayerOptions lo;
  lo.source_date_epoch = source_date_epoch;
  lo.compression = compression;
  oci::LayerWriter w(lo);
  stage_launcher(w, stage, kbuild, data);
  return w.write(layout);
}

oci::Digest launcher_diff_id(const fs::path& kbuild, const matrix::DataFiles& data,
                             int64_t source_date_epoch) {
  TempDir stage("launcher");
  oci::LayerOptions lo;
  lo.source_date_epoch = source_date_epoch;
  oci::LayerWriter w(lo);
  stage_launcher(w, stage, kbuild, data);
  return w.write_tar([](const char*, size_t) {});
}

}  // namespace ksimg::layers
