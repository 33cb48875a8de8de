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

// The init's checks for a compat ABI's build: what such a process sees on the 64-bit kernel.
// i386 on x86_64: 32-bit little-endian, `uname -m` says x86_64 (i686 under `linux32`).
namespace {
InitTarget compat_target(const Plan& p, const matrix::CompatUserland& c) {
  if (c.abi != "i386")
    throw RuntimeError("initramfs: --init-abi " + c.abi +
                       " has no init checks in this kbuild (known: i386); "
                       "this is a bug to report");
  return {p.cell + ":" + c.abi, c.triple + "-", 32, "little", "i", "x86_64"};
}

}  // namespace

InitTarget init_target(const Plan& p) {
  if (p.init_abi) return compat_target(p, *p.init_abi);
  return {p.cell, p.cross_compile, p.bits, p.endian, uname_machine_prefix(p), compat_machine(p)};
}

std::string make_initramfs(BuildContext& c, nlohmann::ordered_json& rec) {
  const Plan& p = c.plan;
  const std::string& libc = p.init_abi ? p.init_abi->libc : p.libc;
  if (libc.empty() || libc.starts_with("none"))
    return "skipped: this cell's toolchain has no C library (" + (libc.empty() ? "none" : libc) + ")";
  InitTarget t = init_target(p);
  fs::path dir = p.build / "initramfs";
  fs::create_directories(dir);
  std::vector<std::string> defs = {
      "-DKSIMG_CELL=\"" + t.label + "\"", "-DKSIMG_BITS=" + std::to_string(t.bits),
      "-DKSIMG_ENDIAN=\"" + t.endian + "\"", "-DKSIMG_MACHINE=\"" + t.machine + "\""};
  if (!t.compat_machine.empty()) defs.push_back("-DKSIMG_MACHINE_COMPAT=\"" + t.compat_machine + "\"");
  // The compiler itself by its path, not the kernel build's wrapper first on the runner's PATH:
  // that wrapper runs ccache, which on a compile-and-link falls back to the compiler with an
  // argv[0] that makes gcc look for cc1 next to the wrapper ("cannot execute 'cc1'").
  auto gcc = subprocess::find_program(t.cross_compile + "gcc");
  if (!gcc)
    throw RuntimeError("initramfs: no " + t.cross_compile +
                       "gcc in PATH: this image's toolchain is incomplete");
  std::vector<std::string> argv = {gcc->string(), "-static", "-O2"};
  argv.insert(argv.end(), defs.begin(), defs.end());
  argv.insert(argv.end(), {init_source(dir).string(), "-o", (dir / "init").string()});
  c.runner.must(argv, "initramfs: " + t.cross_compile + "gcc -static");
  if (p.init_abi) rec["abi"] = p.init_abi->abi;
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
