// What a boot test needs to know about a user's initramfs before qemu sees it: that it is a
// cpio archive (newc as the kernel reads it, or any cpio libarchive reads, optionally
// compressed) and whether it has an /init.
#pragma once
#include <filesystem>
#include <string>

namespace ksimg::oci {

struct CpioSummary {
  size_t entries = 0;
  bool has_init = false;    // a member named "init" or "./init" at the top
  std::string format;       // libarchive's name for it: "SVR4 [new] cpio" (newc)
  std::string compression;  // "gzip", "xz", "none", ...
};

// Reads `file` as a cpio archive through any compression libarchive knows. UsageError with
// the fix when the file is missing or not a cpio (a tar, an ext4 image, a kernel, garbage).
CpioSummary inspect_cpio(const std::filesystem::path& file);

}  // namespace ksimg::oci
