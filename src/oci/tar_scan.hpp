// Walking a layer blob (a tar in any compression libarchive reads) member by member with
// access to each member's data, for checks that must look inside files (the toolchain
// closure check reads ELF headers) without unpacking the layer. libarchive stays in oci.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

#include "oci/tar_read.hpp"

namespace ksimg::oci {

// The current member's data, read sequentially; what the callback leaves unread is skipped.
class MemberData {
 public:
  virtual ~MemberData() = default;
  // Up to `max` further bytes (fewer at the end of the member). IntegrityError when corrupt.
  virtual std::string read(size_t max) = 0;
};

// Calls fn for every member in archive order. TarMember carries path (as stored), type,
// perm, size and link (symlink or hardlink target); owners, times and xattrs are filled too.
// Throws IntegrityError naming `file` when it is not a readable tar or is corrupt.
void scan_tar(const std::filesystem::path& file,
              const std::function<void(const TarMember&, MemberData&)>& fn);

}  // namespace ksimg::oci
