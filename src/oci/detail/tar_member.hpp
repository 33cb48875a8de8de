// Internal: a libarchive entry as a TarMember (oci/tar_read.hpp), shared by the layer
// readers (tar_read.cpp, tar_scan.cpp) and the .deb reader (deb.cpp).
#pragma once
#include <archive_entry.h>

#include "oci/tar_read.hpp"

namespace ksimg::oci::detail {

// 'f' file, 'd' dir, 'l' symlink, 'h' hardlink, 'c' char dev, 'b' block dev, 'p' fifo.
char entry_type(archive_entry* e);
// Every header field TarMember holds, xattrs in the order they were stored.
TarMember entry_member(archive_entry* e);

}  // namespace ksimg::oci::detail
