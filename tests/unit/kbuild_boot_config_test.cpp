// --boot-config and --boot-test: the boot config of a cell from
// matrix/arches.json boot.<era> (defconfig + enable + disable), how it enters kbuild's plan and
// requested settings, its conflicts, the JSON the host hands to the in-image kbuild, the host's
// podman command line, the qemu-missing message and the metadata "boot" record.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>

#include "hostbuild/kbuild_host.hpp"
#include "kbuild/build.hpp"
#include "kbuild/plan.hpp"
#include "matrix/data.hpp"
#include "run/boot.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;
namespace kh = ksimg::hostbuild;

namespace {

Plan boot_plan(const char* era, const char* arch, const char* recipe, BuildOptions o) {
  const auto& m = matrix::builtin();
  auto id = identify(m, {{"KSIMG_ERA", era}, {"KSIMG_ARCH", arch}, {"KSIMG_RECIPE", recipe}});
  o.version = "5.10.223";
  return make_plan(m, matrix::builtin_quirks(), id, o, matrix::parse_version("5.10.223"),
                   {{"SOURCE_DATE_EPOCH", "315532800"}}, 2);
}

const char* mipsel_recipe = "debian-bullseye-gcc10-mipsel";

}  // namespace

TEST_CASE("boot config of a cell is its arches.json boot settings, defconfig defaulting to the era's") {
  const auto& m = matrix::builtin();
  for (const char* cell : {"k4/mipsel", "k4/arm64", "k6/x86_64"}) {
    std::string c = cell, era = c.substr(0, c.find('/')), arch = c.substr(c.find('/') + 1);
    const auto& s = m.arches.at(arch).boot.at(era);
    auto b = boot_config(m, era, arch, matrix::parse_version(era == "k4" ? "5.10.223" : "6.1.176"));
    CHECK(b.cell == c);
    CHECK(b.defconfig == s.defconfig.value_or(m.arches.at(arch).defconfig.at(era).value_or("")));
    CHECK_FALSE(b.defconfig.empty());
    auto want = s.enable;  // then the versioned symbols that apply to this kernel
    for (const auto& vs : s.enable_by_version)
      if (vs.applies(matrix::parse_version(era == "k4" ? "5.10.223" : "6.1.176"))) want.push_back(vs.symbol);
    CHECK(b.enable == want);
    CHECK(b.disable == s.disable);
  }
  CHECK_THROWS_WITH_AS(boot_config(m, "k2.6", "arm64", matrix::parse_version("2.6.39")),
                       doctest::Contains("has no boot settings"), UsageError);
}

TEST_CASE("boot config round-trips through the JSON the host passes, and bad JSON is a usage error") {
  BootConfig b{"k4/mipsel", "tinyconfig", {"MIPS_MALTA", "SERIAL_8250"}, {"MODULES"}};
  auto back = parse_boot_config(boot_config_json(b));
  CHECK(back.cell == b.cell);
  CHECK(back.defconfig == b.defconfig);
  CHECK(back.enable == b.enable);
  CHECK(back.disable == b.disable);
  CHECK_THROWS_WITH_AS(parse_boot_config("{\"cell\":\"k4/mipsel\"}"), doctest::Contains("--boot-config-data"),
                       UsageError);
  CHECK_THROWS_AS(parse_boot_config("not json"), UsageError);
  CHECK_THROWS_AS(parse_boot_config(R"({"cell":"c","defconfig":"","enable":[],"disable":[]})"), UsageError);
}

TEST_CASE("plan with --boot-config: the boot defconfig, config source boot-config, shown by --dry-run") {
  BuildOptions o;
  o.boot_config = true;
  auto p = boot_plan("k4", "mipsel", mipsel_recipe, o);
  auto want = boot_config(matrix::builtin(), "k4", "mipsel", matrix::parse_version("5.10.223"));
  REQUIRE(p.boot.has_value());
  CHECK(p.config_source.name() == "boot-config");
  CHECK(p.config_source.defconfig == want.defconfig);
  CHECK(p.boot->enable == want.enable);
  auto text = render_plan(p, "/src");
  CHECK(text.find("config     boot-config") != std::string::npos);
  CHECK(text.find("boot cfg   k4/mipsel: " + want.defconfig) != std::string::npos);
}

TEST_CASE("plan with --boot-config-data uses the host's values over the built-in ones") {
  BuildOptions o;
  o.boot_config = true;
  o.boot_config_data = boot_config_json({"k4/mipsel", "tinyconfig", {"MIPS_MALTA"}, {"MODULES"}});
  auto p = boot_plan("k4", "mipsel", mipsel_recipe, o);
  CHECK(p.config_source.defconfig == "tinyconfig");
  CHECK(p.boot->enable == std::vector<std::string>{"MIPS_MALTA"});
  CHECK(p.boot->disable == std::vector<std::string>{"MODULES"});
}

TEST_CASE("--boot-config excludes --defconfig and --config and names both") {
  BuildOptions o;
  o.boot_config = true;
  o.defconfig = "tinyconfig";
  CHECK_THROWS_WITH_AS(boot_plan("k4", "mipsel", mipsel_recipe, o),
                       doctest::Contains("--boot-config and --defconfig exclude each other"), UsageError);
  o.defconfig.reset();
  o.config = "/cfg/my.config";
  CHECK_THROWS_WITH_AS(boot_plan("k4", "mipsel", mipsel_recipe, o),
                       doctest::Contains("--boot-config and --config exclude each other"), UsageError);
}

TEST_CASE("requested settings: the boot config first, then --enable and --disable on top") {
  BuildOptions o;
  o.boot_config = true;
  o.boot_config_data = boot_config_json({"k4/mipsel", "tinyconfig", {"CONFIG_MIPS_MALTA"}, {"MODULES"}});
  o.enable = {"PRINTK_TIME"};
  o.disable = {"MIPS_MALTA"};
  auto p = boot_plan("k4", "mipsel", mipsel_recipe, o);
  auto s = requested_settings(o, p);
  REQUIRE(s.size() == 4);
  CHECK(s[0].symbol == "MIPS_MALTA");
  CHECK(s[0].value == "y");
  CHECK(s[0].origin == "boot config of k4/mipsel");
  CHECK(s[1].symbol == "MODULES");
  CHECK(s[1].value == "n");
  CHECK(s[2].origin == "--enable PRINTK_TIME");
  CHECK(s[3].symbol == "MIPS_MALTA");  // the user's --disable comes last and wins
  CHECK(s[3].value == "n");
  o.boot_config = false;
  o.boot_config_data.reset();
  CHECK(requested_settings(o, boot_plan("k4", "mipsel", mipsel_recipe, o)).size() == 2);
}

TEST_CASE("host kbuild passes --boot-config with its own values and never --boot-test") {
  TempDir t("kb");
  kh::Request r;
  r.boot_config = r.boot_test = true;
  r.boot_config_data = boot_config_json({"k4/mipsel", "tinyconfig", {"MIPS_MALTA"}, {}});
  kh::SourcePlan src{t / "linux", "/src", std::nullopt, "tree"};
  kh::ImageChoice img{"localhost/kernelsmith:k4-mipsel", "kernelsmith:k4-mipsel", "", "layout"};
  auto a =
      kh::plan_invocation(r, matrix::parse_version("5.10.223"), src, t / "out", t / "cc", img, 1000).argv;
  auto it = std::find(a.begin(), a.end(), "--boot-config");
  REQUIRE(it != a.end());
  REQUIRE(it + 2 < a.end());
  CHECK(*(it + 1) == "--boot-config-data");
  CHECK(parse_boot_config(*(it + 2)).defconfig == "tinyconfig");
  CHECK(std::find(a.begin(), a.end(), "--boot-test") == a.end());  // the host boots, not the image
  CHECK(std::find(a.begin(), a.end(), "--defconfig") == a.end());
}

TEST_CASE("qemu missing: one line naming the binary and the Debian package") {
  TempDir t("kq");
  std::string old = getenv("PATH") ? getenv("PATH") : "";
  setenv("PATH", t.path().c_str(), 1);
  auto why = run::qemu_missing(matrix::builtin(), "k4", "arm64");
  setenv("PATH", old.c_str(), 1);
  CHECK(why.find("qemu-system-aarch64 is not installed") != std::string::npos);
  CHECK(why.find("apt-get install qemu-system-arm") != std::string::npos);
  CHECK(why.find('\n') == std::string::npos);
  CHECK_THROWS_AS(run::qemu_missing(matrix::builtin(), "k2.6", "arm64"), UsageError);
}

TEST_CASE("the boot record holds verdict, banner, log and command") {
  run::BootPlan p;
  p.cell = "k4/mipsel";
  p.argv = {"qemu-system-mipsel", "-M", "malta"};
  run::BootResult r{"passed", "root-fs", "Linux version 5.10.223", "VFS: Unable to mount root fs",
                    "",       1.5,       "/out/boot.log"};
  auto j = run::boot_record(p, r);
  CHECK(j["cell"] == "k4/mipsel");
  CHECK(j["status"] == "passed");
  CHECK(j["banner"] == "Linux version 5.10.223");
  CHECK(j["log"] == "/out/boot.log");
  CHECK(j["command"][1] == "-M");
  CHECK(j["verified_settings"] == true);
  CHECK(run::boot_failed_exit == 5);
}

TEST_CASE(
    "boot config symbols follow Kconfig renames by kernel version (riscv SOC_VIRT -> ARCH_VIRT in 6.7)") {
  const auto& m = matrix::builtin();
  auto has = [](const BootConfig& b, const char* s) {
    return std::ranges::find(b.enable, s) != b.enable.end();
  };
  for (const char* v : {"6.1.176", "6.6.60", "6.0"}) {
    auto b = boot_config(m, "k6", "riscv64", matrix::parse_version(v));
    CHECK_MESSAGE(has(b, "SOC_VIRT"), v);
    CHECK_FALSE_MESSAGE(has(b, "ARCH_VIRT"), v);
  }
  for (const char* v : {"6.7-rc1", "6.7", "6.12.107", "6.12.117"}) {
    auto b = boot_config(m, "k6", "riscv64", matrix::parse_version(v));
    CHECK_MESSAGE(has(b, "ARCH_VIRT"), v);
    CHECK_FALSE_MESSAGE(has(b, "SOC_VIRT"), v);
  }
  CHECK(has(boot_config(m, "k4", "riscv64", matrix::parse_version("5.10.223")), "SOC_VIRT"));
  // the in-image kbuild, without the host's JSON, picks the same symbols from its plan's version
  BuildOptions o;
  o.boot_config = true;
  o.version = "6.12.107";
  auto id = identify(
      m, {{"KSIMG_ERA", "k6"}, {"KSIMG_ARCH", "riscv64"}, {"KSIMG_RECIPE", *m.cell("k6", "riscv64").recipe}});
  auto p = make_plan(m, matrix::builtin_quirks(), id, o, matrix::parse_version("6.12.107"),
                     {{"SOURCE_DATE_EPOCH", "0"}}, 2);
  REQUIRE(p.boot);
  CHECK(p.boot->enable == boot_config(m, "k6", "riscv64", matrix::parse_version("6.12.107")).enable);
  CHECK(has(*p.boot, "ARCH_VIRT"));
}
