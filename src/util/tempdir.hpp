// A private temporary directory (mkdtemp under $TMPDIR or /tmp, or a given parent), removed
// with its contents when the object goes away.
#pragma once
#include <filesystem>
#include <string>

namespace ksimg {

class TempDir {
 public:
  // Creates "<TMPDIR>/<prefix>.XXXXXX" with mode 0700; throws RuntimeError on failure.
  explicit TempDir(const std::string& prefix = "ksimg");
  // Creates "<parent>/<prefix>.XXXXXX" instead (e.g. scratch space on the same filesystem
  // as where results go, so they can be renamed into place).
  TempDir(const std::string& prefix, const std::filesystem::path& parent);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace ksimg
