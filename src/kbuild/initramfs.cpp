// kbuild's `initramfs` target (see initramfs.hpp). The cpio is written here, not by the
// image's cpio(1) nor by libarchive (kbuild is a static program that links no libarchive; the
// archive code stays in ksimg's oci module): newc is a short fixed format, and writing it makes
// the bytes depend only on the init and SOURCE_DATE_EPOCH (sorted members, owner 0:0, fixed
// mtimes and inode numbers). gzip is the image's own `gzip -n` (no name, no time in the header).
#include "kbuild/initramfs.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "kbuild/build.hpp"
#include "matrix/data.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

namespace {

void pad4(std::string& out) {
  while (out.size() % 4) out.push_back('\0');
}

void header(std::string& out, uint32_t ino, const CpioEntry& e, uint32_t mtime, const std::string& name) {
  char h[111];
  std::snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, e.mode, 0u,
                0u, S_ISDIR(e.mode) ? 2u : 1u, mtime, static_cast<uint32_t>(e.data.size()), 0u, 0u,
                e.rdev_major, e.rdev_minor, static_cast<uint32_t>(name.size() + 1), 0u);
  out.append(h, 110);
  out += name;
  out.push_back('\0');
  pad4(out);
}

const char* kInitSource = "/usr/share/ksimg/userland/init.c";

// The init's source: the launcher layer's copy, or (kbuild run outside a cell image) the
// one compiled into kbuild, written next to the output.
fs::path init_source(const fs::path& dir) {
  if (fs::is_regular_file(kInitSource)) return kInitSource;
  auto files = matrix::data_files("");
  fs::path f = dir / "init.c";
  files::write_atomic(f, files.at("userland/init.c"), 0644);
  return f;
}

}  // namespace

std::string newc_archive(std::vector<CpioEntry> entries, uint32_t mtime) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  std::string out;
  uint32_t ino = 1;
  for (const auto& e : entries) {
    header(out, ino++, e, mtime, e.path);
    out += e.data;
    pad4(out);
  }
  header(out, 0, CpioEntry{"TRAILER!!!", 0, "", 0, 0}, 0, "TRAILER!!!");
  while (out.size() % 512) out.push_back('\0');
  return out;
}

std::string uname_machine_prefix(const Plan& p) {
  const std::string& k = p.kernel_arch;
  if (k == "arm64") return "aarch64";
  if (k == "arm") return "arm";
  if (k == "mips") return p.bits == 64 ? "mips64" : "mips";
  if (k == "powerpc") return p.bits == 32 ? "ppc" : p.endian == "little" ? "ppc64le" : "ppc64";
  if (k == "riscv") return "riscv64";
  if (k == "x86") return p.bits == 64 ? "x86_64" : "i";
  return k;
}

std::string compat_machine(const Plan& p) {
  if (p.bits != 32) return "";
  const std::string& k = p.kernel_arch;
  if (k == "arm") return "aarch64";
  if (k == "x86") return "x86_64";
  if (k == "powerpc") return "ppc64";
  return "";  // mips: a mips64 kernel says "mips64", which the "mips" prefix matches
}

std::string make_initramfs(BuildContext& c, nlohmann::ordered_json& rec) {
  const Plan& p = c.plan;
  if (p.libc.empty() || p.libc.starts_with("none"))
    return "skipped: this cell's toolchain has no C library (" + (p.libc.empty() ? "none" : p.libc) + ")";
  fs::path dir = p.build / "initramfs";
  fs::create_directories(dir);
  std::vector<std::string> defs = {
      "-DKSIMG_CELL=\"" + p.cell + "\"", "-DKSIMG_BITS=" + std::to_string(p.bits),
      "-DKSIMG_ENDIAN=\"" + p.endian + "\"", "-DKSIMG_MACHINE=\"" + uname_machine_prefix(p) + "\""};
  if (auto compat = compat_machine(p); !compat.empty())
    defs.push_back("-DKSIMG_MACHINE_COMPAT=\"" + compat + "\"");
  // The compiler itself by its path, not the kernel build's wrapper first on the runner's PATH:
  // that wrapper runs ccache, which on a compile-and-link falls back to the compiler with an
  // argv[0] that makes gcc look for cc1 next to the wrapper ("cannot execute 'cc1'").
  auto gcc = subprocess::find_program(p.cross_compile + "gcc");
  if (!gcc)
    throw RuntimeError("initramfs: no " + p.cross_compile +
                       "gcc in PATH: this image's toolchain is incomplete");
  std::vector<std::string> argv = {gcc->string(), "-static", "-O2"};
  argv.insert(argv.end(), defs.begin(), defs.end());
  argv.insert(argv.end(), {init_source(dir).string(), "-o", (dir / "init").string()});
  c.runner.must(argv, "initramfs: " + p.cross_compile + "gcc -static");
  auto epoch = static_cast<uint32_t>(epoch_from(c.runner.env()));
  std::vector<CpioEntry> entries = {{"dev", S_IFDIR | 0755, "", 0, 0},
                                    {"dev/console", S_IFCHR | 0600, "", 5, 1},
                                    {"init", S_IFREG | 0755, files::read(dir / "init"), 0, 0},
                                    {"proc", S_IFDIR | 0755, "", 0, 0},
                                    {"root", S_IFDIR | 0700, "", 0, 0},
                                    {"sys", S_IFDIR | 0755, "", 0, 0}};
  fs::path cpio = p.out / "initramfs.cpio";
  files::write_atomic(cpio, newc_archive(entries, epoch), 0644);
  fs::remove(p.out / "initramfs.cpio.gz");
  c.runner.must({"gzip", "-n", "-9", cpio.string()}, "initramfs: gzip -n");
  rec["init_size"] = fs::file_size(dir / "init");
  rec["size"] = fs::file_size(p.out / "initramfs.cpio.gz");
  rec["init_cflags"] = defs;
  return "ok";
}

}  // namespace ksimg::kbuild
