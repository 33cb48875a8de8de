// The built-in file patches and shims that quirks name (matrix/quirks.json action "patch",
// each with its evidence there). A shim goes into the build dir;
// a patch edits the tree, which is then always kbuild's own copy (never a mounted source).
#include "kbuild/patches.hpp"

#include <regex>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

bool patch_needs_writable_tree(const std::string& name) {
  return name == "timeconst_defined_array";
}

std::string rewrite_defined_arrays(const std::string& perl) {
  static const std::regex re(R"(defined\s*\(\s*(@[A-Za-z_][A-Za-z0-9_:]*)\s*\))");
  return std::regex_replace(perl, re, "$1");
}

static std::string shim_compiler_gcc(const fs::path& src, const fs::path& build, int gcc_major) {
  fs::path have = src / "include/linux/compiler-gcc4.h";
  std::string name = "compiler-gcc" + std::to_string(gcc_major) + ".h";
  if (!fs::exists(have) || fs::exists(src / "include/linux" / name))
    return "not needed (the tree has " + name + ")";
  fs::create_directories(build / "include/linux");
  fs::copy_file(have, build / "include/linux" / name, fs::copy_options::overwrite_existing);
  return "copied include/linux/compiler-gcc4.h to " + (build / "include/linux" / name).string();
}

static std::string patch_timeconst(const fs::path& src) {
  fs::path f = src / "kernel/timeconst.pl";
  auto text = files::read_if_exists(f);
  if (!text) return "not needed (no kernel/timeconst.pl)";
  std::string out = rewrite_defined_arrays(*text);
  if (out == *text) return "not needed (no defined(@array))";
  files::write_atomic(f, out, 0644);
  return "rewrote defined(@array) in kernel/timeconst.pl";
}

std::string apply_patch(const std::string& name, const fs::path& src, const fs::path& build, int gcc_major) {
  if (name == "compiler_gcc_header_shim") return shim_compiler_gcc(src, build, gcc_major);
  if (name == "timeconst_defined_array") return patch_timeconst(src);
  throw DataError("matrix/quirks.json names patch " + name + ", which this kbuild does not implement");
}

}  // namespace ksimg::kbuild
