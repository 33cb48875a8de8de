// Error helpers (see error.hpp).
#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace ksimg {

// ENOSPC and EDQUOT also say how to get space: every store ksimg writes can be moved.
static std::string disk_full_hint(int err) {
  if (err != ENOSPC && err != EDQUOT) return "";
  return "; free space there, or put the store elsewhere (--layout or KSIMG_LAYOUT, --cache or "
         "KSIMG_CACHE, TMPDIR)";
}

std::string errno_text(const std::string& what, const std::string& path) {
  int e = errno;
  return what + " " + path + ": " + std::strerror(e) + disk_full_hint(e);
}

}  // namespace ksimg
