// `ksimg boot-test OUT_DIR`: boots the kernel that `kbuild` wrote into OUT_DIR in
// the cell's qemu (run/boot.hpp), prints the `Linux version` banner and the verdict, and
// records them in OUT_DIR/metadata.json under "boot". With OUT_DIR/initramfs.cpio.gz (kbuild's
// initramfs target) or --initramfs FILE it boots to userspace; otherwise to the root-fs panic.
// `--kernel FILE --cell ERA/ARCH` boots any kernel image without a kbuild output directory.
// `ksimg kbuild --boot-test` calls the same code (boot_test.hpp).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/boot_test.hpp"
#include "cli/commands.hpp"
#include "kbuild/plan.hpp"
#include "matrix/data.hpp"
#include "oci/cpio_check.hpp"
#include "run/boot.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace fs = std::filesystem;

namespace ksimg::cli {

namespace {

struct BootOpts {
  std::string out, kernel, cell, log, initramfs, expect, append;
  std::string init_cell;                     // --init-from-cell ERA/ARCH
  std::string init_abi;                      // --init-abi ABI: that cell's compat userland (i386)
  std::string layout, lock, source, mirror;  // handed to the kbuild of that cell's init
  int timeout = 0;
  bool json = false, no_initramfs = false;
};

nlohmann::ordered_json read_metadata(const fs::path& file) {
  auto text = files::read_if_exists(file);
  if (!text)
    throw UsageError(file.string() +
                     " does not exist; give the output directory of a kbuild run, or "
                     "--kernel FILE --cell ERA/ARCH");
  try {
    return nlohmann::ordered_json::parse(*text);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(file.string() + " is not valid JSON (" + e.what() + "); rerun the build");
  }
}

// --init-from-cell ERA/ARCH: the initramfs that cell's own image builds for the same kernel
// version (`ksimg kbuild V --arch ARCH --targets initramfs -o OUT/init-ERA-ARCH`, run as a child
// of this program, reused when that directory already holds it). This is how a 64-bit kernel
// is shown to run the 32-bit userland of its compat ABI (mips64el <- mipsel, arm64 <- armhf).
// With --init-abi the init is that cell's compat userland (x86_64 <- k6/x86_64 --init-abi i386,
// into OUT/init-ERA-ARCH-ABI): for a compat ABI no cell of its own builds.
std::string init_from_cell(const BootOpts& o, const matrix::Matrix& m, const nlohmann::ordered_json& meta) {
  if (!o.initramfs.empty() || o.no_initramfs)
    throw UsageError("--init-from-cell excludes --initramfs and --no-initramfs; drop one");
  if (o.out.empty()) throw UsageError("--init-from-cell needs OUT_DIR (a kbuild output directory)");
  auto slash = o.init_cell.find('/');
  std::string era = o.init_cell.substr(0, slash),
              arch = slash == std::string::npos ? "" : o.init_cell.substr(slash + 1);
  if (slash == std::string::npos || !m.arches.count(arch))
    throw UsageError("--init-from-cell takes ERA/ARCH of a known arch (k4/mipsel), not '" + o.init_cell +
                     "'");
  std::string kernel_era = o.cell.substr(0, o.cell.find('/'));
  if (era != kernel_era)
    throw UsageError("--init-from-cell " + o.init_cell + ": the init must come from the kernel's era (" +
                     kernel_era + "/" + arch + "): a cell's libc and the kernel it runs on are of one era");
  if (!o.init_abi.empty()) {
    const auto& cell = m.cell(era, arch);
    kbuild::require_compat(cell.recipe ? &m.recipe(*cell.recipe) : nullptr, o.init_cell, o.init_abi);
  }
  std::string version = meta.contains("kernel") && meta["kernel"].contains("version")
                            ? meta["kernel"]["version"].get<std::string>()
                            : "";
  if (version.empty()) throw DataError(o.out + "/metadata.json names no kernel version; rerun the build");
  std::string name = "init-" + era + "-" + arch + (o.init_abi.empty() ? "" : "-" + o.init_abi);
  fs::path dir = fs::absolute(o.out) / name, initrd = dir / "initramfs.cpio.gz";
  if (fs::exists(initrd) && fs::exists(dir / "metadata.json")) {
    auto made = read_metadata(dir / "metadata.json");
    std::string made_abi = made.contains("targets") && made["targets"].contains("initramfs")
                               ? made["targets"]["initramfs"].value("abi", "")
                               : "";
    if (made.value("cell", "") == o.init_cell && made_abi == o.init_abi &&
        made.value("status", "") == "succeeded") {
      log::info("--init-from-cell: reusing " + initrd.string());
      return initrd.string();
    }
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw RuntimeError("--init-from-cell: cannot find this program (/proc/self/exe: " + ec.message() + ")");
  std::vector<std::string> argv = {self.string(), "kbuild",    version, "--arch",    arch,
                                   "--targets",   "initramfs", "-o",    dir.string()};
  for (const auto& [flag, v] :
       {std::pair{"--layout", o.layout}, {"--lock", o.lock}, {"--source", o.source}, {"--mirror", o.mirror}})
    if (!v.empty()) argv.insert(argv.end(), {flag, v});
  if (!o.init_abi.empty()) argv.insert(argv.end(), {"--init-abi", o.init_abi});
  log::info("--init-from-cell " + o.init_cell + ": building its init (" + kbuild::shell_join(argv) + ")");
  subprocess::Options so;  // its progress goes to stderr; stdout stays this command's verdict
  so.on_output = [](std::string_view chunk, bool) {
    std::cerr.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
  };
  auto r = subprocess::run(argv, so);
  if (!r.ok() || !fs::exists(initrd))
    throw RuntimeError("--init-from-cell " + o.init_cell + ": building its initramfs failed (exit " +
                       std::to_string(r.status) + "; its message is above, its log " +
                       (dir / "build.log").string() + ")");
  return initrd.string();
}

// The initramfs to boot: --initramfs, else OUT/initramfs.cpio.gz when kbuild made one (unless
// --no-initramfs); empty for a root-fs boot. A user's file must be a cpio archive.
std::string pick_initramfs(const BootOpts& o) {
  if (!o.initramfs.empty()) {
    if (o.no_initramfs) throw UsageError("--initramfs and --no-initramfs exclude each other; drop one");
    auto c = oci::inspect_cpio(o.initramfs);
    if (!c.has_init)
      log::warn("--initramfs " + o.initramfs + " has no /init at its top (" + std::to_string(c.entries) +
                " members): the kernel will look for /sbin/init, then panic");
    return fs::absolute(o.initramfs).string();
  }
  if (o.no_initramfs || o.out.empty()) return "";
  fs::path own = fs::path(o.out) / "initramfs.cpio.gz";
  return fs::exists(own) ? fs::absolute(own).string() : "";
}

// Fills in cell and kernel from OUT/metadata.json where the flags left them empty.
void complete_from_output(BootOpts& o, const matrix::Matrix& m, nlohmann::ordered_json& meta) {
  if (o.cell.empty()) {
    if (!meta.contains("cell") || !meta["cell"].is_string())
      throw DataError(o.out + "/metadata.json names no cell; pass --cell ERA/ARCH");
    o.cell = meta["cell"].get<std::string>();
  }
  if (!o.kernel.empty()) return;
  auto slash = o.cell.find('/');
  auto a = m.arches.find(o.cell.substr(slash + 1));
  if (slash == std::string::npos || a == m.arches.end()) throw UsageError("unknown cell '" + o.cell + "'");
  fs::path image = fs::path(o.out) / fs::path(a->second.boot_image.file).filename();
  o.kernel = image.string();
  if (!fs::exists(image))
    throw UsageError(image.string() +
                     " does not exist; build the boot image (kbuild --targets vmlinux,image)");
}

// Whether OUT/metadata.json says the build used --boot-config (nullopt: no metadata or no config record).
std::optional<bool> built_with_boot_config(const nlohmann::ordered_json& meta) {
  if (!meta.contains("config") || !meta["config"].is_object()) return std::nullopt;
  return meta["config"].contains("boot_config");
}

// Boots, prints the verdict and records it in OUT/metadata.json; the caller decides the exit.
run::BootResult boot_and_record(BootOpts& o) {
  const auto& m = matrix::get(global().data_dir);
  nlohmann::ordered_json meta;
  if (!o.out.empty()) {
    meta = read_metadata(fs::path(o.out) / "metadata.json");
    complete_from_output(o, m, meta);
  } else if (o.kernel.empty() || o.cell.empty()) {
    throw UsageError("give OUT_DIR (a kbuild output directory) or both --kernel FILE and --cell ERA/ARCH");
  }
  auto slash = o.cell.find('/');
  if (slash == std::string::npos)
    throw UsageError("--cell takes ERA/ARCH such as k4/mipsel, not '" + o.cell + "'");
  fs::path dir = o.out.empty() ? fs::current_path() : fs::path(o.out);
  auto plan = run::plan_boot(m, o.cell.substr(0, slash), o.cell.substr(slash + 1), o.kernel, dir / "dtbs",
                             built_with_boot_config(meta));
  if (o.timeout > 0) plan.timeout_seconds = o.timeout;
  if (!o.init_cell.empty())
    run::use_initramfs(plan, {init_from_cell(o, m, meta), o.expect, o.append});
  else if (auto initrd = pick_initramfs(o); !initrd.empty())
    run::use_initramfs(plan, {initrd, o.expect, o.append});
  else if (!o.expect.empty())
    throw UsageError(
        "--expect needs an initramfs (--initramfs FILE, or OUT_DIR/initramfs.cpio.gz from kbuild "
        "--targets ...,initramfs): without one the kernel stops at the root-fs panic");
  else
    run::append_cmdline(plan, o.append);
  fs::path log_file = o.log.empty() ? dir / "boot.log" : fs::path(o.log);
  log::info("boot-test " + plan.cell + ": " + plan.qemu + ", up to " + std::to_string(plan.timeout_seconds) +
            " s, console in " + log_file.string());
  auto r = run::boot(plan, log_file);
  if (!o.out.empty()) {
    meta["boot"] = run::boot_record(plan, r);
    files::write_atomic(dir / "metadata.json", meta.dump(2) + "\n");
  }
  if (o.json)
    std::cout << run::boot_record(plan, r).dump(2) << "\n";
  else
    std::cout << plan.cell << ": boot " << r.status << " (" << r.verdict << ")"
              << (r.banner.empty() ? "" : "\n  " + r.banner)
              << (r.marker.empty() ? "" : "\n  marker: " + r.marker)
              << (r.reason.empty() ? "" : "\n  " + r.reason) << "\n";
  return r;
}

void run_boot(BootOpts o) {
  auto r = boot_and_record(o);
  if (!r.ok() && r.status != "build-only")
    throw RuntimeError("boot test of " + o.cell + " " + r.status + " (" + r.verdict + "): " + r.reason +
                       " (log: " + r.log.string() + ")");
}

}  // namespace

run::BootResult boot_output_dir(const std::string& out_dir) {
  BootOpts o;
  o.out = out_dir;
  return boot_and_record(o);
}

void add_boot_test(CLI::App& app) {
  auto o = std::make_shared<BootOpts>();
  auto* sub = app.add_subcommand(
      "boot-test",
      "Boot a built kernel in the cell's qemu: to userspace with an initramfs, else to the root-fs panic");
  sub->add_option("OUT_DIR", o->out,
                  "Output directory of a kbuild run (has metadata.json, the boot image, dtbs/)");
  sub->add_option("--kernel", o->kernel, "Boot this kernel image instead of OUT_DIR's");
  sub->add_option("--cell", o->cell,
                  "ERA/ARCH whose qemu settings to use (default: OUT_DIR's metadata.json)");
  sub->add_option("--timeout", o->timeout, "Seconds before giving up (default: matrix/arches.json, 240)")
      ->check(CLI::Range(1, 86400));
  sub->add_option("--log", o->log, "Where the console log goes (default: OUT_DIR/boot.log)");
  sub->add_option("--initramfs", o->initramfs,
                  "Boot with this cpio (newc, optionally gzip/xz/zstd) as the initramfs: a firmware's "
                  "rootfs, your own init (default: OUT_DIR/initramfs.cpio.gz when kbuild made one)");
  sub->add_option("--expect", o->expect,
                  "With an initramfs: pass when a console line matches this extended regex "
                  "(default: the KSIMG-USERSPACE-OK line of kbuild's own init)");
  sub->add_option("--append", o->append,
                  "Add these arguments to the kernel command line (after the console)");
  sub->add_flag("--no-initramfs", o->no_initramfs, "Boot without OUT_DIR's initramfs, to the root-fs panic");
  sub->add_option(
      "--init-from-cell", o->init_cell,
      "Boot with the init that cell builds for the same kernel (ksimg kbuild --targets initramfs into "
      "OUT_DIR/init-ERA-ARCH): a 64-bit kernel running its 32-bit compat userland, e.g. k4/mipsel "
      "for a k4/mips64el kernel");
  sub->add_option("--init-abi", o->init_abi,
                  "With --init-from-cell: that cell's compat userland instead of its own (x86_64 cells: "
                  "i386, built by their i686-linux-gnu-gcc), into OUT_DIR/init-ERA-ARCH-ABI")
      ->needs("--init-from-cell");
  for (auto [flag, field, what] : {std::tuple{"--layout", &o->layout, "OCI layout of the cell images"},
                                   {"--lock", &o->lock, "Lock file the images are built from"},
                                   {"--source", &o->source, "Kernel tree or tarball on the host"},
                                   {"--mirror", &o->mirror, "Kernel mirror (kernel.org layout)"}})
    sub->add_option(flag, *field, std::string(what) + ", for the kbuild of --init-from-cell")
        ->group("--init-from-cell");
  sub->add_flag("--json", o->json, "Print the result as JSON");
  sub->footer(
      "Verdicts (metadata.json boot.verdict): userspace (the initramfs's init printed its marker\n"
      "or a line matched --expect), root-fs (no initramfs: the kernel booted through driver init\n"
      "and panicked looking for its root fs, the marker regex in matrix/arches.json),\n"
      "init-failed (the kernel could not run /init or /init died: the kernel's words and what\n"
      "they mean), failed, timeout, build-only (qemu cannot boot this cell).\n"
      "Examples:\n"
      "  ksimg boot-test out/     # after ksimg kbuild 5.10.223 --arch mipsel -o out --boot-config --targets "
      "vmlinux,initramfs\n"
      "  ksimg boot-test out/ --initramfs rootfs.cpio.gz --expect 'login:' --append 'rdinit=/sbin/init'\n"
      "  ksimg boot-test out64/ --init-from-cell k4/mipsel   # a k4/mips64el kernel runs o32 userland\n"
      "  ksimg boot-test out/ --init-from-cell k6/x86_64 --init-abi i386   # an x86_64 kernel runs i386\n"
      "  ksimg boot-test --kernel vmlinuz --cell k6/x86_64 --timeout 60\n"
      "Exit codes: 0 booted (or the cell is build-only), 1 boot failed, init failed or timed out,\n"
      "2 usage (bad flags, a missing file, --initramfs not a cpio, --expect not a regex), 4 bad metadata.");
  sub->callback([o] { run_boot(*o); });
}

}  // namespace ksimg::cli
