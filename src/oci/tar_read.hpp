// Reading layer blobs back: the member list of a (compressed) tar and the raw uncompressed
// bytes, so layers can be checked without unpacking them (libarchive stays in oci).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ksimg::oci {

struct TarMember {
  std::string path;   // as stored (directories end in '/')
  char type = 'f';    // f file, d dir, l symlink, h hardlink, c char dev, b block dev, p fifo
  uint32_t perm = 0;  // 07777 bits
  int64_t uid = 0, gid = 0;
  std::string uname, gname;
  int64_t mtime = 0;
  bool atime_set = false, ctime_set = false;
  uint64_t size = 0;
  std::string link;  // symlink target or hardlink target
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // in archive order
};

// Lists the members of a tar in any compression libarchive reads. IntegrityError when corrupt.
std::vector<TarMember> list_tar(const std::filesystem::path& file);
// Streams the uncompressed bytes of a gzip/zstd/plain blob to `sink`.
void decompress(const std::filesystem::path& file, const std::function<void(const char*, size_t)>& sink);

}  // namespace ksimg::oci
