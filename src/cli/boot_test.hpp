// The boot test of a kbuild output directory, shared by `ksimg boot-test OUT_DIR` and
// `ksimg kbuild --boot-test`, so both boot the same way in-process.
#pragma once
#include <string>

#include "run/boot.hpp"

namespace ksimg::cli {

// Boots OUT_DIR's kernel as `ksimg boot-test OUT_DIR` does: the cell and kernel from its
// metadata.json, the verdict and banner printed on stdout, the result recorded under "boot"
// in metadata.json. Returns the result (no throw when the boot fails; throws for usage/data).
run::BootResult boot_output_dir(const std::string& out_dir);

}  // namespace ksimg::cli
