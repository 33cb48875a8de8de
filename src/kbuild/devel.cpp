// The kernel-devel tree and out-of-tree module builds (as kernelsmith's kernel.nix "$dev" output
// and its buildModule do). kbuild builds with
// O=, so the devel tree merges the source tree's build files with the build dir's generated
// ones (.config, Module.symvers, include/generated, scripts/ host programs) into one
// self-contained in-tree layout, slimmed: no *.o (but ppc32's crtsavres.o), *.c or *.cmd
// outside scripts/ and tools/, no arch/*/boot or arch/*/realmode.
#include <nlohmann/json.hpp>

#include "kbuild/build.hpp"
#include "kbuild/cell.hpp"
#include "matrix/data.hpp"
#include "matrix/quirks.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

namespace {

const char* const kDevelInfo = "kbuild-devel.json";

bool keep(const fs::path& rel, bool is_dir) {
  std::string top = rel.begin() == rel.end() ? "" : rel.begin()->string();
  bool tool_area = top == "scripts" || top == "tools";
  if (is_dir) {
    auto it = rel.begin();
    if (top == "arch" && ++it != rel.end() && ++it != rel.end()) return *it != "boot" && *it != "realmode";
    return true;
  }
  auto ext = rel.extension().string();
  if (ext == ".cmd") return false;
  if (ext == ".o") return tool_area || rel == "arch/powerpc/lib/crtsavres.o";
  if (ext == ".c") return tool_area;
  return rel.filename().string().rfind(".tmp", 0) != 0;
}

void copy_tree(const fs::path& from, const fs::path& to, const fs::path& rel_root) {
  if (!fs::exists(from)) return;
  if (fs::is_regular_file(from)) {
    fs::create_directories(to.parent_path());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    return;
  }
  for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator(); ++it) {
    fs::path rel = rel_root / it->path().lexically_relative(from);
    auto st = fs::symlink_status(it->path());  // never follow links: the tree has relative ones
    bool dir = fs::is_directory(st);
    if (!keep(rel, dir)) {
      if (dir) it.disable_recursion_pending();
      continue;
    }
    fs::path dest = to / it->path().lexically_relative(from);
    if (dir) {
      fs::create_directories(dest);
      continue;
    }
    fs::create_directories(dest.parent_path());
    std::error_code ec;
    fs::remove(dest, ec);  // the build dir's copy replaces the source's; a link is replaced, not followed
    if (fs::is_symlink(st))
      fs::create_symlink(fs::read_symlink(it->path()), dest, ec);
    else if (fs::is_regular_file(st))
      fs::copy_file(it->path(), dest);
  }
}

}  // namespace

void make_devel(BuildContext& c) {
  fs::path d = c.plan.out / "devel", tmp = c.plan.out / "devel.partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string karch = "arch/" + c.plan.kernel_arch;
  for (const auto& rel :
       {"Makefile", "Kbuild", "Kconfig", "include", "scripts", karch.c_str(), "tools/objtool"})
    copy_tree(c.source.tree / rel, tmp / rel, rel);
  for (const auto& rel : {".config", "Module.symvers", "include", "scripts", karch.c_str(), "tools/objtool"})
    copy_tree(c.plan.build / rel, tmp / rel, rel);
  nlohmann::ordered_json info = {{"version", c.plan.version.str()},
                                 {"cell", c.plan.cell},
                                 {"kernel_arch", c.plan.kernel_arch},
                                 {"cross_compile", c.plan.cross_compile}};
  files::write_atomic(tmp / kDevelInfo, info.dump(2) + "\n");
  fs::remove_all(d);
  fs::rename(tmp, d);
  log::info("  devel: " + d.string() + " (make -C " + d.string() +
            " M=<module dir> modules, or kbuild module)");
}

void run_module(const ModuleOptions& o) {
  auto info_text = files::read_if_exists(o.kernel / kDevelInfo);
  if (!info_text)
    throw UsageError(o.kernel.string() + " is not a kbuild devel tree (no " + kDevelInfo +
                     "); build one with kbuild build VERSION --targets devel");
  auto info = nlohmann::json::parse(*info_text);
  const auto& m = matrix::builtin();
  auto id = identify(m, process_env());
  if (info["cell"] != id.cell->key())
    throw UsageError("the devel tree is for cell " + info["cell"].get<std::string>() + ", this image is " +
                     id.cell->key() +
                     "; run kbuild module in kernelsmith:" + info["cell"].get<std::string>());
  BuildOptions bo;
  bo.version = info["version"];
  bo.out = o.out;
  bo.build_dir = o.out / "module-build";
  bo.defconfig = "none";
  bo.jobs = o.jobs;
  bo.ccache_dir = o.ccache_dir;
  Plan p = make_plan(m, matrix::builtin_quirks(), id, bo, matrix::parse_version(bo.version), process_env(),
                     available_cores());
  fs::path work = p.build / "src";
  fs::remove_all(work);
  fs::create_directories(work);
  fs::copy(o.dir, work, fs::copy_options::recursive);
  if (fs::exists(o.kernel / "arch/powerpc/lib/crtsavres.o"))
    copy_tree(o.kernel / "arch/powerpc/lib/crtsavres.o", work / "arch/powerpc/lib/crtsavres.o", "");
  install_signal_handlers();
  Runner r(o.out / "module-build.log", prepare_wrappers(p));
  std::vector<std::string> argv = {"make", "-C", fs::absolute(o.kernel).string(), "M=" + work.string()};
  argv.insert(argv.end(), p.make_vars.begin(), p.make_vars.end());
  argv.insert(argv.end(), {"-j" + std::to_string(p.jobs), "modules"});
  r.must(argv, "module build");
  int n = 0;
  for (auto& e : fs::recursive_directory_iterator(work))
    if (e.path().extension() == ".ko")
      fs::copy_file(e.path(), o.out / e.path().filename(), fs::copy_options::overwrite_existing), ++n;
  if (n == 0)
    throw RuntimeError("the module build produced no .ko in " + work.string() +
                       " (does its Makefile set obj-m?)");
  log::info("kbuild module: " + std::to_string(n) + " module(s) in " + o.out.string());
}

}  // namespace ksimg::kbuild
