// The targets' collection steps (build_targets.cpp): what `make dtbs`, `modules_install` and
// `headers_install` left is taken into OUT, and an arch or config for which a target made
// nothing yields 0, never an error. Checked for every arch of the matrix, since the step must
// not depend on one arch's build-dir layout.
#include <doctest/doctest.h>

#include "kbuild/build.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;
namespace fs = std::filesystem;

namespace {
void put(const fs::path& p, const std::string& data) {
  fs::create_directories(p.parent_path());
  files::write_atomic(p, data);
}
}  // namespace

TEST_CASE("collect_dtbs: an arch whose make dtbs wrote nothing gives 0 device trees and an empty OUT/dtbs") {
  for (const auto& [name, arch] : matrix::builtin().arches) {
    CAPTURE(name);
    TempDir d("kbuild-collect");
    fs::create_directories(d.path() / "build/arch" / arch.kernel_arch);  // no boot/dts at all
    CHECK(collect_dtbs(d.path() / "build", arch.kernel_arch, d.path() / "out") == 0);
    CHECK(fs::is_directory(d.path() / "out/dtbs"));
    CHECK(fs::is_empty(d.path() / "out/dtbs"));
    fs::create_directories(d.path() / "build/arch" / arch.kernel_arch / "boot/dts");  // the dir, but empty
    CHECK(collect_dtbs(d.path() / "build", arch.kernel_arch, d.path() / "out") == 0);
    CHECK(count_modules(d.path() / "out/modules") == 0);  // modules_install never ran
    CHECK(count_files(d.path() / "out/headers") == 0);
  }
}

TEST_CASE("collect_dtbs: copies .dtb files with their vendor subdirectories and replaces the previous set") {
  TempDir d("kbuild-collect");
  fs::path dts = d.path() / "build/arch/arm/boot/dts";
  put(dts / "arm/versatile-pb.dtb", "dtb1");  // 6.5+: vendor subdirectory
  put(dts / "vexpress.dtb", "dtb2");          // before 6.5: flat
  put(dts / "vexpress.dts", "source");
  put(dts / ".vexpress.dtb.cmd", "noise");
  put(d.path() / "out/dtbs/stale.dtb", "old");
  CHECK(collect_dtbs(d.path() / "build", "arm", d.path() / "out") == 2);
  CHECK(files::read(d.path() / "out/dtbs/arm/versatile-pb.dtb") == "dtb1");
  CHECK(files::read(d.path() / "out/dtbs/vexpress.dtb") == "dtb2");
  CHECK_FALSE(fs::exists(d.path() / "out/dtbs/stale.dtb"));
  CHECK_FALSE(fs::exists(d.path() / "out/dtbs/vexpress.dts"));
  CHECK_FALSE(fs::exists(d.path() / "out/dtbs.partial"));
}

TEST_CASE("count_modules: plain and compressed modules, nothing else") {
  TempDir d("kbuild-collect");
  fs::path m = d.path() / "modules/lib/modules/6.12.0";
  put(m / "kernel/fs/a.ko", "");
  put(m / "kernel/fs/b.ko.xz", "");
  put(m / "kernel/fs/c.ko.zst", "");
  put(m / "modules.dep", "");
  put(m / "modules.order", "");
  CHECK(count_modules(d.path() / "modules") == 3);
  CHECK(count_files(d.path() / "modules") == 5);
}

TEST_CASE("internal_error: a library exception names the step, the path and says it is a bug") {
  try {
    fs::recursive_directory_iterator it("/nonexistent/ksimg/arch/powerpc/boot/dts");
    FAIL("no exception");
  } catch (const std::exception& e) {
    std::string msg = internal_error("kbuild", "dtbs", e, "OUT/metadata.json").what();
    CHECK(msg.find("step 'dtbs'") != std::string::npos);
    CHECK(msg.find("/nonexistent/ksimg/arch/powerpc/boot/dts: No such file or directory") !=
          std::string::npos);
    CHECK(msg.find("bug in kbuild") != std::string::npos);
    CHECK(msg.find("filesystem error:") == std::string::npos);  // the raw what() is not shown
    CHECK(msg.find('\n') == std::string::npos);
  }
}
