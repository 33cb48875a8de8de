// VERSION argument handling (see version_arg.hpp).
#include "cli/version_arg.hpp"

#include <filesystem>

#include "oci/peek.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::cli {

namespace fs = std::filesystem;

static bool looks_like_path(const std::string& a) {
  return a.find('/') != std::string::npos || a.rfind(".tar") != std::string::npos || a.ends_with(".tgz") ||
         a == "." || a == "..";
}

matrix::Version version_from_arg(const std::string& arg) {
  std::error_code ec;
  if (fs::is_directory(arg, ec)) {
    fs::path mk = fs::path(arg) / "Makefile";
    auto text = files::read_if_exists(mk);
    if (!text)
      throw UsageError(arg + " is a directory without a Makefile; give a Linux source tree or a version");
    return matrix::parse_makefile_version(*text, mk.string());
  }
  if (fs::is_regular_file(arg, ec)) {
    auto text = oci::read_top_member(arg, "Makefile");
    if (!text) throw UsageError(arg + " has no top-level Makefile; is it a Linux source tarball?");
    return matrix::parse_makefile_version(*text, arg + ":Makefile");
  }
  if (looks_like_path(arg)) throw UsageError("no such file or directory: " + arg);
  return matrix::parse_version(arg);
}

}  // namespace ksimg::cli
