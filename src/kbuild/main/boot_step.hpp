// `kbuild --boot-test` inside the image: the cell images carry no qemu, so the
// boot runs only where the cell's qemu-system-* is on PATH (an image extended with it, or kbuild
// run outside podman); otherwise kbuild refuses before building and points at `ksimg boot-test`.
#pragma once
#include "kbuild/plan.hpp"

namespace ksimg::kbuild {

// Before the build: RuntimeError naming the Debian package when the cell's qemu is missing,
// UsageError when the cell has no boot settings.
void check_boot_test(const BuildOptions& o);

// After a successful build: boots OUT's kernel (run/boot.hpp, the code `ksimg boot-test`
// uses), prints the verdict and banner, records "boot" in OUT/metadata.json. Returns 0, or
// run::boot_failed_exit (5) when the kernel did not boot.
int boot_built_kernel(const BuildOptions& o);

}  // namespace ksimg::kbuild
