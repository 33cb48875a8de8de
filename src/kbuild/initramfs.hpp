// kbuild's `initramfs` target: a static /init compiled by the cell's own cross gcc against its
// libc, from userland/init.c (carried by the launcher layer at /usr/share/ksimg/userland/),
// packed as OUT/initramfs.cpio.gz with reproducible bytes.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ksimg::kbuild {

struct BuildContext;
struct Plan;

// Where the launcher layer puts userland/init.c in a cell image.
inline constexpr const char* kInitSource = "/usr/share/ksimg/userland/init.c";

// One member of a newc ("070701") cpio archive.
struct CpioEntry {
  std::string path;   // without a leading "/", e.g. "init", "dev/console"
  uint32_t mode = 0;  // full st_mode (S_IFDIR | 0755, S_IFREG | 0755, S_IFCHR | 0600)
  std::string data;   // regular files only
  uint32_t rdev_major = 0, rdev_minor = 0;
};

// The newc archive of `entries`, sorted by path, owner 0:0, every mtime `mtime`, inode numbers
// 1.. in that order, one link each, ending with the TRAILER!!! record: the same entries give
// the same bytes.
std::string newc_archive(std::vector<CpioEntry> entries, uint32_t mtime);

// The prefix the kernel's `uname -m` has on this cell's arch ("mips64", "ppc64le", "arm").
std::string uname_machine_prefix(const Plan& p);

// What the matching 64-bit kernel's `uname -m` says to this 32-bit cell's userland through
// its compat ABI ("aarch64" for arm, "x86_64", "ppc64"); empty for 64-bit cells and mips.
std::string compat_machine(const Plan& p);

// What the init is compiled for and checks: the cell's own ABI, or with --init-abi the compat
// ABI its recipe offers (label "k6/x86_64:i386", i686-linux-gnu-, 32-bit, machine "i" or the
// 64-bit kernel's "x86_64").
struct InitTarget {
  std::string label, cross_compile;
  int bits = 0;
  std::string endian, machine, compat_machine;
};
InitTarget init_target(const Plan& p);

// Compiles the init with the cell's gcc (init_target's), packs it with /dev/console, /proc, /sys and /root,
// and gzips it (`gzip -n -9`) into OUT/initramfs.cpio.gz. Returns "ok" or
// "skipped: <reason>" (a cell whose toolchain has no libc). rec gets the sizes and the init's
// compile flags.
std::string make_initramfs(BuildContext& c, nlohmann::ordered_json& rec);

}  // namespace ksimg::kbuild
