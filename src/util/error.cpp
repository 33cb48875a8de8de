// Error helpers (see error.hpp).
#include "util/error.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

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

std::string describe_exception(const std::exception& e) {
  auto* fe = dynamic_cast<const std::filesystem::filesystem_error*>(&e);
  if (!fe) return e.what();
  std::string op = fe->what();
  if (op.starts_with("filesystem error: ")) op.erase(0, 18);
  op = op.substr(0, op.find(": "));
  std::string paths = fe->path1().string();
  if (!fe->path2().empty()) paths += " -> " + fe->path2().string();
  return op + " " + paths + ": " + fe->code().message() + disk_full_hint(fe->code().value());
}

RuntimeError internal_error(const std::string& program, const std::string& step, const std::exception& e,
                            const std::string& attach) {
  return RuntimeError("internal error in step '" + step + "': " + describe_exception(e) +
                      "; this is a bug in " + program + ", please report it with " + attach);
}

}  // namespace ksimg
