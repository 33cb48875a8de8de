// kbuild: the program inside every kernelsmith cell image. `kbuild [build] VERSION`
// builds a kernel with this image's toolchain (docs/kbuild.md), `kbuild module DIR` builds an
// out-of-tree module against a devel tree, `kbuild info` reports the image's cell and
// toolchain, `kbuild check VERSION` whether a kernel version belongs to it.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "kbuild/build.hpp"
#include "kbuild/cell.hpp"
#include "kbuild/main/boot_step.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

using namespace ksimg;

namespace {

// The host platform this launcher was compiled for, which is its image's: the linux/arm64 entry
// of a two-platform cell carries the cross-built arm64 kbuild.
#if defined(__aarch64__)
constexpr const char* kHostArch = "arm64";
#else
constexpr const char* kHostArch = "amd64";
#endif

void info(bool json) {
  const auto& m = matrix::builtin();
  auto id = kbuild::identify(m, kbuild::process_env());
  const auto& a = m.arches.at(id.cell->arch);
  const auto& r = *id.recipe;
  nlohmann::ordered_json compat = nlohmann::ordered_json::array();
  for (const auto& c : r.compat)
    compat.push_back({{"abi", c.abi}, {"cross_compile", c.triple + "-"}, {"libc", c.libc}});
  if (json) {
    std::cout << nlohmann::ordered_json{{"cell", id.cell->key()},
                                        {"image_tag", id.image_tag},
                                        {"arch", a.name},
                                        {"kernel_arch", a.kernel_arch},
                                        {"recipe", r.name},
                                        {"source", r.source()},
                                        {"gcc", r.gcc},
                                        {"binutils",
                                         r.binutils ? nlohmann::ordered_json(*r.binutils) : nullptr},
                                        {"cross_compile", r.triple + "-"},
                                        {"libc", r.libc_on(kHostArch)},
                                        {"host", std::string("linux/") + kHostArch},
                                        {"compat", compat},
                                        {"kernels", kbuild::supported_range(m, id)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "cell       " << id.cell->key() << "  (image kernelsmith:" << id.image_tag << ")\n"
            << "toolchain  " << r.source() << " " << r.name << ": gcc " << r.gcc << ", binutils "
            << r.binutils.value_or("(not recorded)") << ", " << r.libc_on(kHostArch) << "\n"
            << "make       ARCH=" << a.kernel_arch << " CROSS_COMPILE=" << r.triple << "-\n";
  for (const auto& c : r.compat)
    std::cout << "compat     " << c.abi << " userland: " << c.triple << "-gcc, " << c.libc
              << " (kbuild build --targets initramfs --init-abi " << c.abi << ")\n";
  std::cout << "kernels    " << kbuild::supported_range(m, id) << "\n";
}

void check(const std::string& version) {
  const auto& m = matrix::builtin();
  auto id = kbuild::identify(m, kbuild::process_env());
  auto v = matrix::parse_version(version);
  if (auto other = kbuild::other_image_for(m, id, v))
    throw UsageError("kernel " + v.str() + " is not built by this image (kernelsmith:" + id.image_tag +
                     "); use kernelsmith:" + *other + " (ksimg resolve " + v.str() + " --arch " +
                     id.cell->arch + " says why)");
  std::cout << "kernel " << v.str() << " belongs to cell " << id.cell->key()
            << " (kernelsmith:" << id.image_tag << ")\n";
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in)
    for (size_t p = 0; p <= s.size();) {
      size_t e = s.find(',', p);
      if (e == std::string::npos) e = s.size();
      if (e > p) out.push_back(s.substr(p, e - p));
      p = e + 1;
    }
  return out;
}

void add_build(CLI::App& app, kbuild::BuildOptions& o, std::vector<std::string>& targets, int& rc) {
  auto* b = app.add_subcommand("build",
                               "Build a kernel (the default: `kbuild 5.10.223` = `kbuild build 5.10.223`)");
  b->add_option("VERSION", o.version, "Kernel version, e.g. 5.10.223")->required();
  b->add_option("--source", o.source,
                "Kernel tree (used read-only) or tarball (.tar.xz/.tar.gz); default /src when it exists, "
                "else download");
  b->add_option("--mirror", o.mirror,
                "kernel.org-layout mirror root (env KSIMG_KERNEL_MIRROR; default "
                "https://cdn.kernel.org/pub/linux/kernel)");
  b->add_option("--sha256", o.sha256,
                "Expected sha256 of the tarball (else from the mirror's sha256sums.asc)");
  b->add_option("-o,--out", o.out, "Output dir (default /out)");
  b->add_option("--build-dir", o.build_dir, "Build dir (default OUT/build; reused = incremental)");
  b->add_option("--work-dir", o.work_dir, "Where tarballs are downloaded and extracted (default OUT/work)");
  b->add_option("--defconfig", o.defconfig, "Defconfig target (default: the era's defconfig for the arch)");
  b->add_option("--config", o.config, "A full .config (normalized with olddefconfig)");
  b->add_option("--enable", o.enable, "Set CONFIG_SYM=y (repeatable)");
  b->add_option("--disable", o.disable, "Turn CONFIG_SYM off (repeatable)");
  b->add_option("--fragment", o.fragments, "Config fragment file, merged in order (repeatable)");
  b->add_flag("--config-strict", o.config_strict,
              "Fail when the supplied .config names symbols the tree does not define");
  b->add_option(
      "--targets", targets,
      "Comma list of vmlinux,image,modules,dtbs,headers,devel,initramfs (default "
      "vmlinux,image,modules,dtbs; initramfs: a static /init by the cell's gcc, OUT/initramfs.cpio.gz)");
  b->add_option("--init-abi", o.init_abi,
                "Build the initramfs target's /init for a compat ABI of this cell's toolchain (kbuild info "
                "lists them; x86_64 cells: i386), to prove the kernel runs that userland");
  b->add_option("-j,--jobs", o.jobs, "Parallel jobs (default: the CPUs available)");
  b->add_option("--ccache-dir", o.ccache_dir, "ccache dir (env CCACHE_DIR); used when set and ccache exists");
  b->add_flag("--no-ccache", o.no_ccache, "Compile without ccache even when CCACHE_DIR is set");
  b->add_flag("--force", o.force, "Build a version that belongs to another image (loud warning)");
  b->add_flag("--dry-run", o.dry_run, "Print the plan (quirks, config steps, make commands) and exit");
  b->add_flag("--boot-config", o.boot_config,
              "Configure with this cell's boot config (defconfig + enable + disable of matrix/arches.json "
              "boot.<era>); --enable/--disable add to it");
  b->add_option("--boot-config-data", o.boot_config_data,
                "The boot config as JSON (ksimg kbuild passes its own)")
      ->group("");
  b->add_flag("--boot-test", o.boot_test,
              "Boot the result in qemu afterwards (needs the cell's qemu-system-* on PATH; exit 5 if it does "
              "not boot)");
  b->callback([&] {
    o.targets = split_commas(targets);
    if (o.targets.empty() && o.boot_test) o.targets = kbuild::default_targets(true);
    if (o.boot_test) kbuild::check_boot_test(o);
    rc = kbuild::run_build(o);
    if (rc == 0 && o.boot_test && !o.dry_run) rc = kbuild::boot_built_kernel(o);
  });
}

void add_module(CLI::App& app, kbuild::ModuleOptions& mo) {
  auto* m = app.add_subcommand(
      "module", "Build an out-of-tree module against a devel tree (kbuild build --targets devel)");
  m->add_option("DIR", mo.dir, "Module source dir (a kbuild Makefile with obj-m)")->required();
  m->add_option("--kernel", mo.kernel, "The devel tree: OUT/devel of a kbuild build")->required();
  m->add_option("-o,--out", mo.out, "Where the .ko files go (default /out)");
  m->add_option("-j,--jobs", mo.jobs, "Parallel jobs (default: the CPUs available)");
  m->add_option("--ccache-dir", mo.ccache_dir, "ccache dir (env CCACHE_DIR)");
  m->callback([&] { kbuild::run_module(mo); });
}

// `kbuild 5.10.223 ...` means `kbuild build 5.10.223 ...`.
std::vector<std::string> args_of(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  static const std::set<std::string> subs = {"build", "module", "info", "check"};
  if (!a.empty() && a[0][0] != '-' && !subs.count(a[0])) a.insert(a.begin(), "build");
  std::reverse(a.begin(), a.end());  // CLI11 parses a reversed vector
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kbuild: builds Linux kernels with this kernelsmith cell image's toolchain", "kbuild"};
  app.set_version_flag("--version", "kbuild (ksimg 0.1.0)");
  app.require_subcommand(1);
  bool json = false;
  int rc = 0;
  std::string version;
  kbuild::BuildOptions bo;
  kbuild::ModuleOptions mo;
  std::vector<std::string> targets;
  add_build(app, bo, targets, rc);
  add_module(app, mo);
  auto* i = app.add_subcommand("info", "Print this image's cell, toolchain and the kernels it builds");
  i->add_flag("--json", json, "Print JSON");
  i->callback([&] { info(json); });
  auto* c = app.add_subcommand("check", "Check that a kernel version is built by this image (exit 2 if not)");
  c->add_option("VERSION", version, "Kernel version, e.g. 5.10.223")->required();
  c->callback([&] { check(version); });
  app.footer(
      "Examples (inside the image; /src a kernel tree or tarball, /out the output):\n"
      "  podman run -v ~/linux:/src:ro -v ./out:/out kernelsmith:k4-mipsel kbuild 5.10.223\n"
      "  kbuild 5.10.223 --source linux-5.10.223.tar.xz --defconfig tinyconfig --targets vmlinux\n"
      "  kbuild 5.10.223 --config my.config --config-strict --enable DEVTMPFS -o /out\n"
      "  kbuild 5.10.223 --boot-config -o /out        # then on the host: ksimg boot-test OUT\n"
      "  kbuild module /src/mymod --kernel /out/devel -o /out/mod\n"
      "  kbuild info; kbuild check 5.10.223\n"
      "Exit codes: 0 ok, 1 build failed, 2 usage error or wrong image, 3 integrity (sha256, corrupt "
      "tarball),\n"
      "4 invalid data, 5 built but --boot-test's boot failed, 128+N killed by signal N (metadata.json status "
      "\"killed\").");
  try {
    app.parse(args_of(argc, argv));
    return rc;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; every bad command line is a usage error
  } catch (const Error& e) {
    std::cerr << "kbuild: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {  // the build converts its own; this is the rest (start-up, info)
    std::cerr << "kbuild: "
              << internal_error("kbuild", "start-up", e, "the command line and `kbuild info`").what() << "\n";
    return 1;
  }
}
