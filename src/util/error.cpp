// Error helpers (see error.hpp).
#include "util/error.hpp"

#include <cerrno>
#include <cstring>

namespace ksimg {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

}  // namespace ksimg
