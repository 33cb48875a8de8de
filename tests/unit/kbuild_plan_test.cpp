// kbuild's build plan: quirks turned into make variables, environment and
// wrappers; targets per arch; config source; and the runner's log, tail and cancel.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "kbuild/plan.hpp"
#include "kbuild/runner.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;

namespace {

Plan plan_for(const char* era, const char* arch, const char* recipe, const char* version, BuildOptions o = {},
              std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "315532800"}}) {
  const auto& m = matrix::builtin();
  auto id = identify(m, {{"KSIMG_ERA", era}, {"KSIMG_ARCH", arch}, {"KSIMG_RECIPE", recipe}});
  o.version = version;
  return make_plan(m, matrix::builtin_quirks(), id, o, matrix::parse_version(version), env, 4);
}

bool has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_CASE(
    "plan for k4/mipsel 5.10: wrappers as CC/HOSTCC, hermetic env, malta_defconfig, vmlinux only image") {
  auto p = plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223");
  CHECK(p.cross_compile == "mipsel-linux-gnu-");
  CHECK(has(p.make_vars, "ARCH=mips"));
  CHECK(has(p.make_vars, "CC=/out/build/.kbuild/bin/mipsel-linux-gnu-gcc"));
  CHECK(has(p.make_vars, "HOSTCC=/out/build/.kbuild/bin/kbuild-hostcc"));
  CHECK(p.wrapper_flags == std::vector<std::string>{"-Wno-error"});
  CHECK(p.env.at("KBUILD_BUILD_TIMESTAMP") == "Tue Jan  1 00:00:00 UTC 1980");
  CHECK(p.env.at("KBUILD_BUILD_USER") == "kernelsmith");
  CHECK(p.config_source.kind == ConfigSource::Kind::era_defconfig);
  CHECK(p.config_source.name() == "era default defconfig malta_defconfig");
  CHECK(p.normalize == matrix::Normalize::olddefconfig);
  CHECK(p.targets == std::vector<std::string>{"vmlinux", "modules", "dtbs"});  // mips: no extra boot image
  CHECK(p.jobs == 4);
  CHECK(p.config_enables.size() == 1);
  CHECK(std::none_of(p.make_vars.begin(), p.make_vars.end(),
                     [](auto& v) { return v.rfind("HOSTCFLAGS=", 0) == 0; }));
  auto argv = p.make_argv("/src", {"vmlinux"});
  CHECK(argv[0] == "make");
  CHECK(argv[3] == "O=/out/build");
  CHECK(argv.back() == "vmlinux");
  CHECK(p.wrapper_script("/usr/bin/mipsel-linux-gnu-gcc", false) ==
        "#!/bin/sh\n# kbuild compiler wrapper (quirk wno-error-wrapper): flags appended last.\n"
        "exec /usr/bin/mipsel-linux-gnu-gcc \"$@\" -Wno-error\n");
  CHECK(p.wrapper_script("/g", true).find("exec ccache /g \"$@\" -Wno-error") != std::string::npos);
}

TEST_CASE("plan for k3: HOSTCFLAGS restated as one argv element") {
  auto p = plan_for("k3", "mipsel", "bootlin-2018.02-1-mipsel", "3.18.140");
  auto it = std::find_if(p.make_vars.begin(), p.make_vars.end(),
                         [](auto& v) { return v.rfind("HOSTCFLAGS=", 0) == 0; });
  REQUIRE(it != p.make_vars.end());
  CHECK(*it ==
        "HOSTCFLAGS=-Wall -Wmissing-prototypes -Wstrict-prototypes -O2 -fomit-frame-pointer -std=gnu89 "
        "-fcommon");
}

TEST_CASE("plan for k2.6: nopedantic, oldconfig, patches (gcc 4.4.7: no shim, no gnu89)") {
  auto p = plan_for("k2.6", "mipsel", "ko-gcc4.4.7-mipsel", "2.6.31");
  CHECK(has(p.make_vars, "KBUILD_NOPEDANTIC=1"));
  CHECK(p.normalize == matrix::Normalize::oldconfig);
  CHECK(p.patches == std::vector<std::string>{"timeconst_defined_array"});
  CHECK_FALSE(has(p.make_vars, "KCFLAGS=-fgnu89-inline"));
}

TEST_CASE("plan targets: boot image per arch, explicit lists, unknown target") {
  auto arm = plan_for("k4", "armel", "debian-bullseye-gcc10-armel", "5.10.223");
  CHECK(arm.targets == std::vector<std::string>{"vmlinux", "image", "modules", "dtbs"});
  CHECK(arm.boot_target == "zImage");
  BuildOptions o;
  o.targets = {"headers", "image"};
  auto x = plan_for("k4", "x86_64", "debian-bullseye-gcc10-x86_64", "5.10.223", o);
  CHECK(x.targets == std::vector<std::string>{"vmlinux", "image", "headers"});
  o.targets = {"bzimage"};
  CHECK_THROWS_WITH_AS(plan_for("k4", "x86_64", "debian-bullseye-gcc10-x86_64", "5.10.223", o),
                       doctest::Contains("unknown target"), UsageError);
}

TEST_CASE("target steps: one list for --dry-run and the build, install dirs emptied first") {
  BuildOptions o;
  o.targets = all_targets();
  auto p = plan_for("k4", "armel", "debian-bullseye-gcc10-armel", "5.10.223", o);
  auto modules = target_steps(p, "modules");
  REQUIRE(modules.size() == 2);
  CHECK(modules[0].label == "modules");
  CHECK(modules[1].goals == std::vector<std::string>{"modules_install", "INSTALL_MOD_PATH=/out/modules"});
  CHECK(modules[1].fresh_dir == std::filesystem::path("/out/modules"));
  CHECK(target_steps(p, "image")[0].goals == std::vector<std::string>{"zImage"});
  CHECK(target_steps(p, "devel")[1].kind == Step::Kind::devel_tree);
  CHECK(target_steps(p, "initramfs")[0].kind == Step::Kind::initramfs);
  auto make = [&](std::vector<std::string> goals) {
    return "  " + shell_join(p.make_argv("SRC", goals)) + "\n";
  };
  std::string want =
      "make (SRC = the kernel tree):\n" + make({"vmlinux"}) + make({"zImage"}) + make({"modules"}) +
      make({"modules_install", "INSTALL_MOD_PATH=/out/modules"}) + make({"dtbs"}) +
      make({"headers_install", "INSTALL_HDR_PATH=/out/headers"}) + make({"modules_prepare"}) +
      "  devel: the source and build trees' files an out-of-tree module build needs, into "
      "/out/devel\n"
      "  initramfs: arm-linux-gnueabi-gcc -static -O2 /usr/share/ksimg/userland/init.c, packed "
      "as /out/initramfs.cpio.gz\n";
  auto text = render_plan(p, "/src");
  REQUIRE(text.size() > want.size());
  CHECK(text.substr(text.size() - want.size()) == want);
  CHECK(text.find("config     era default defconfig versatile_defconfig, normalized with olddefconfig\n") !=
        std::string::npos);
}

TEST_CASE("plan config source, jobs, ccache from env, bad SOURCE_DATE_EPOCH") {
  BuildOptions o;
  o.config = "/cfg/my.config";
  o.jobs = 7;
  auto p =
      plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223", o, {{"CCACHE_DIR", "/ccache"}});
  CHECK(p.config_source.name() == "config /cfg/my.config");
  CHECK(p.config_source.kind == ConfigSource::Kind::file);
  CHECK(p.jobs == 7);
  CHECK(p.ccache_dir == std::filesystem::path("/ccache"));
  o.defconfig = "tinyconfig";
  CHECK_THROWS_AS(plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223", o), UsageError);
  o.config.reset();
  auto d = plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223", o);
  CHECK(d.config_source.name() == "defconfig tinyconfig");
  CHECK(render_plan(d, "/src").find("  copy ") == std::string::npos);
  CHECK_THROWS_WITH_AS(
      plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223", {}, {{"SOURCE_DATE_EPOCH", "x"}}),
      doctest::Contains("SOURCE_DATE_EPOCH"), UsageError);
  CHECK(available_cores() >= 1);
  CHECK(shell_join({"make", "HOSTCFLAGS=-O2 -fcommon", "it's"}) ==
        "make 'HOSTCFLAGS=-O2 -fcommon' 'it'\\''s'");
}

TEST_CASE("runner logs output, keeps the tail and first error, and forwards a cancel") {
  TempDir t("kbuild-runner");
  Runner r(t / "build.log", {{"KB_TEST", "yes"}});
  // stdout and stderr are separate pipes: the sleep orders the last line after the error line.
  CHECK(r.run({"sh", "-c", "echo one; echo \"x.c:1: error: boom\" >&2; sleep 0.3; echo $KB_TEST; exit 3"},
              "t") == 3);
  CHECK(r.first_error() == "x.c:1: error: boom");
  CHECK(r.tail(1) == "yes\n");
  auto log = files::read(t / "build.log");
  CHECK(log.find("$ sh -c") == 0);
  CHECK(log.find("one\n") != std::string::npos);
  CHECK_THROWS_AS(r.must({"false"}, "f"), RuntimeError);
  install_signal_handlers();
  std::thread killer([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::kill(::getpid(), SIGTERM);
  });
  auto t0 = std::chrono::steady_clock::now();
  CHECK_THROWS_AS(r.run({"sh", "-c", "sleep 30 & wait"}, "sleep"), Killed);
  killer.join();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  CHECK(cancel_signal() == SIGTERM);
  reset_cancel();
  CHECK(r.run({"true"}, "after") == 0);
}
