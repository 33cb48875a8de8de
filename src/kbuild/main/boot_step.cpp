// `kbuild --boot-test` (see boot_step.hpp): the boot settings of the image's
// cell (matrix/arches.json boot.<era>), the kernel kbuild just wrote to OUT (with
// OUT/initramfs.cpio.gz when the initramfs target made one: a boot to userspace), and the same
// boot code as `ksimg boot-test` (src/run/boot.cpp, compiled into this program).
#include "kbuild/main/boot_step.hpp"

#include <iostream>

#include "kbuild/cell.hpp"
#include "matrix/data.hpp"
#include "run/boot.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

void check_boot_test(const BuildOptions& o) {
  if (o.dry_run) return;
  const auto& m = matrix::builtin();
  auto id = identify(m, process_env());
  std::string why = run::qemu_missing(m, id.cell->era, id.cell->arch);
  if (!why.empty())
    throw RuntimeError("--boot-test: " + why +
                       "; cell images carry no qemu: build without --boot-test, then run " +
                       "`ksimg boot-test OUT` on the host (nothing was built)");
}

int boot_built_kernel(const BuildOptions& o) {
  const auto& m = matrix::builtin();
  auto id = identify(m, process_env());
  const auto& a = m.arches.at(id.cell->arch);
  fs::path out = fs::absolute(o.out), kernel = out / fs::path(a.boot_image.file).filename();
  auto plan = run::plan_boot(m, id.cell->era, id.cell->arch, kernel, out / "dtbs",
                             o.boot_config || o.boot_config_data);
  if (fs::exists(out / "initramfs.cpio.gz")) run::use_initramfs(plan, {out / "initramfs.cpio.gz", "", ""});
  log::info("kbuild: boot test " + plan.cell + ": " + plan.qemu + ", up to " +
            std::to_string(plan.timeout_seconds) + " s, console in " + (out / "boot.log").string());
  auto r = run::boot(plan, out / "boot.log");
  auto meta = nlohmann::ordered_json::parse(files::read(out / "metadata.json"));
  meta["boot"] = run::boot_record(plan, r);
  files::write_atomic(out / "metadata.json", meta.dump(2) + "\n");
  std::cout << plan.cell << ": boot " << r.status << " (" << r.verdict << ")"
            << (r.banner.empty() ? "" : "\n  " + r.banner) << (r.reason.empty() ? "" : "\n  " + r.reason)
            << "\n";
  if (r.ok() || r.status == "build-only") return 0;
  std::cerr << "kbuild: the kernel built, but its boot test " << r.status << ": " << r.reason << "\n";
  return run::boot_failed_exit;
}

}  // namespace ksimg::kbuild
