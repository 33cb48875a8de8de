// TempDir (see tempdir.hpp): mkdtemp(3) for a fresh 0700 directory, remove_all on destruction.
#include "util/tempdir.hpp"

#include <cstdlib>
#include <system_error>
#include <vector>

#include "util/error.hpp"

namespace ksimg {

static std::filesystem::path default_parent() {
  const char* env = std::getenv("TMPDIR");
  return env && *env ? env : "/tmp";
}

TempDir::TempDir(const std::string& prefix) : TempDir(prefix, default_parent()) {}

TempDir::TempDir(const std::string& prefix, const std::filesystem::path& base) {
  std::string templ = (base / (prefix + ".XXXXXX")).string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data()))
    throw RuntimeError(errno_text("cannot create a temporary directory in", base.string()));
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace ksimg
