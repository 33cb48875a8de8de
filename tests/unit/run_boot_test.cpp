// Boot tests (run/boot.hpp): the qemu command per cell against kernelsmith's boot table
// and the verdict on console logs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "matrix/data.hpp"
#include "run/boot.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {
std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : " ") + a;
  return s;
}
}  // namespace

TEST_CASE("boot plan: k4/mipsel is malta with 256M and ttyS0, no cpu, no dtb") {
  auto p = run::plan_boot(matrix::builtin(), "k4", "mipsel", "/o/vmlinux", "/o/dtbs");
  CHECK(joined(p.argv) ==
        "qemu-system-mipsel -M malta -m 256M -kernel /o/vmlinux -append console=ttyS0 -nographic -no-reboot");
  CHECK(p.package == "qemu-system-mips");
  CHECK(p.timeout_seconds == 240);
  CHECK_FALSE(p.build_only);
}

TEST_CASE("boot plan: 64-bit MIPS needs a 64-bit cpu, MIPS64R2-generic on k4 and 5KEc on k3") {
  auto& m = matrix::builtin();
  CHECK(joined(run::plan_boot(m, "k4", "mips64el", "k", "d").argv).find("-cpu MIPS64R2-generic") !=
        std::string::npos);
  CHECK(joined(run::plan_boot(m, "k6", "mips64eb", "k", "d").argv)
            .find("qemu-system-mips64 -M malta -cpu MIPS64R2-generic") == 0);
  CHECK(joined(run::plan_boot(m, "k3", "mips64el", "k", "d").argv).find("-cpu 5KEc") != std::string::npos);
}

TEST_CASE("boot plan: powerpc64 pseries with 1G and hvc0, arm64 virt cortex-a53, x86_64 pc") {
  auto& m = matrix::builtin();
  auto ppc = joined(run::plan_boot(m, "k4", "powerpc64le", "k", "d").argv);
  CHECK(ppc.find("qemu-system-ppc64 -M pseries -m 1G") == 0);
  CHECK(ppc.find("-append console=hvc0") != std::string::npos);
  CHECK(joined(run::plan_boot(m, "k4", "arm64", "k", "d").argv)
            .find("qemu-system-aarch64 -M virt -cpu cortex-a53") == 0);
  CHECK(joined(run::plan_boot(m, "k6", "x86_64", "k", "d").argv).find("qemu-system-x86_64 -M pc -m 256M") ==
        0);
  CHECK(run::qemu_package("qemu-system-x86_64") == "qemu-system-x86");
  CHECK(run::qemu_package("qemu-system-aarch64") == "qemu-system-arm");
  CHECK(run::qemu_package("qemu-system-riscv64") == "qemu-system-misc");
}

TEST_CASE("boot plan: k4/armel versatile passes its dtb and refuses when it was not built") {
  TempDir t("boot");
  CHECK_THROWS_AS(run::plan_boot(matrix::builtin(), "k4", "armel", t / "zImage", t / "dtbs"), UsageError);
  fs::create_directories(t / "dtbs");
  std::ofstream(t / "dtbs/versatile-pb.dtb") << "dtb";
  auto p = run::plan_boot(matrix::builtin(), "k4", "armel", t / "zImage", t / "dtbs");
  CHECK(joined(p.argv).find("-M versatilepb -m 128M -kernel " + (t / "zImage").string() + " -dtb " +
                            (t / "dtbs/versatile-pb.dtb").string()) != std::string::npos);
}

TEST_CASE("boot plan: a cell without boot settings and an unknown arch are usage errors") {
  auto& m = matrix::builtin();
  CHECK_THROWS_AS(run::plan_boot(m, "k4", "sparc", "k", "d"), UsageError);
  CHECK_THROWS_AS(run::plan_boot(m, "k4", "powerpcle", "k", "d"), UsageError);
}

TEST_CASE("boot plan: the k2.6 powerpc64 cell is build-only") {
  auto p = run::plan_boot(matrix::builtin(), "k2.6", "powerpc64", "k", "d");
  CHECK(p.build_only);
}

TEST_CASE("boot log: the root-fs panic passes and yields banner and marker") {
  std::string log =
      "Linux version 5.10.223 (kernelsmith@kernelsmith) (mipsel-linux-gnu-gcc-10 (Debian 10.2.1-6) "
      "10.2.1)\r\n"
      "random: crng init done\r\n"
      "VFS: Cannot open root device \"(null)\" or unknown-block(0,0): error -6\r\n"
      "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n";
  auto r = run::judge_boot_log("[    0.000000] " + log, matrix::builtin().boot_success_regex);
  CHECK(r.ok());
  CHECK(r.banner.rfind("Linux version 5.10.223 (kernelsmith@kernelsmith)", 0) == 0);
  CHECK(r.marker.find("VFS: Cannot open root device") != std::string::npos);
  CHECK(r.marker.find('\r') == std::string::npos);
}

TEST_CASE("boot log: a hang after the banner fails with the last line, silence says so") {
  auto& re = matrix::builtin().boot_success_regex;
  auto r = run::judge_boot_log("Linux version 4.9.0\nbootconsole [udbg0] disabled\n", re);
  CHECK_FALSE(r.ok());
  CHECK(r.status == "failed");
  CHECK(r.reason.find("last line: bootconsole [udbg0] disabled") != std::string::npos);
  auto s = run::judge_boot_log("", re);
  CHECK(s.reason.find("no console output") != std::string::npos);
}

TEST_CASE("boot plan: the dtb is found flat (before 6.5) and in its vendor directory (6.5 and later)") {
  TempDir tmp("dtb");
  fs::path d = tmp.path() / "dtbs";
  fs::create_directories(d / "arm");
  fs::create_directories(d / "aaa");  // a vendor dir without it, sorted first
  std::ofstream(d / "arm/versatile-pb.dtb") << "dtb";
  CHECK(run::find_dtb(d, "versatile-pb.dtb") == d / "arm/versatile-pb.dtb");
  auto p = run::plan_boot(matrix::builtin(), "k6", "armel", tmp.path() / "zImage", d, true);
  CHECK(joined(p.argv).find(" -dtb " + (d / "arm/versatile-pb.dtb").string() + " ") != std::string::npos);
  std::ofstream(d / "versatile-pb.dtb") << "flat";  // both: the flat one wins
  CHECK(run::find_dtb(d, "versatile-pb.dtb") == d / "versatile-pb.dtb");
  CHECK_FALSE(run::find_dtb(d, "vexpress.dtb"));
  CHECK_FALSE(run::find_dtb(tmp.path() / "none", "versatile-pb.dtb"));
}

TEST_CASE("boot plan: a missing dtb gets advice true for how OUT was built, never 'do what you did'") {
  TempDir tmp("dtb");
  fs::path d = tmp.path() / "dtbs";
  fs::create_directories(d / "arm");
  auto why = [&](std::optional<bool> boot_config_build) {
    try {
      run::plan_boot(matrix::builtin(), "k6", "armel", tmp.path() / "zImage", d, boot_config_build);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto after_boot_config = why(true);
  CHECK(after_boot_config.find("versatile-pb.dtb") != std::string::npos);
  CHECK(after_boot_config.find("<vendor>/versatile-pb.dtb") != std::string::npos);
  CHECK(after_boot_config.find("did not make versatile-pb.dtb") != std::string::npos);
  CHECK(after_boot_config.find("rebuild with") == std::string::npos);
  CHECK(after_boot_config.find("boot the output of") == std::string::npos);
  CHECK(why(false).find("not built with the boot config: rebuild with ksimg kbuild --boot-config") !=
        std::string::npos);
  CHECK(why(std::nullopt).find("boot the output of ksimg kbuild --boot-config") != std::string::npos);
}

namespace {
// The k4/mipsel plan booting OUT's own initramfs (expect empty) or a user's (expect set).
run::BootPlan initramfs_plan(const std::string& expect = "", const std::string& append = "") {
  auto p = run::plan_boot(matrix::builtin(), "k4", "mipsel", "/o/vmlinux", "/o/dtbs");
  run::use_initramfs(p, {"/o/initramfs.cpio.gz", expect, append});
  return p;
}
}  // namespace

TEST_CASE("boot plan: an initramfs goes in with -initrd before -append, --append after the console") {
  auto p = initramfs_plan("", "rdinit=/init quiet");
  auto cmd = joined(p.argv);
  CHECK(cmd.find("-initrd /o/initramfs.cpio.gz -append console=ttyS0 rdinit=/init quiet -nographic") !=
        std::string::npos);
  CHECK(p.success_regex == run::userspace_marker);
  CHECK(p.initramfs == "/o/initramfs.cpio.gz");
  auto user = initramfs_plan("login:");
  CHECK(user.success_regex == "login:");
  CHECK(run::boot_record(user, {}).at("expect") == "login:");
  CHECK_THROWS_AS(initramfs_plan("unclosed ( group"), UsageError);
  auto plain = run::plan_boot(matrix::builtin(), "k4", "mipsel", "/o/vmlinux", "/o/dtbs");
  run::append_cmdline(plain, "loglevel=8");
  CHECK(joined(plain.argv).find("-append console=ttyS0 loglevel=8 -nographic") != std::string::npos);
  CHECK(joined(plain.argv).find("-initrd") == std::string::npos);
  CHECK_FALSE(run::boot_record(plain, {}).contains("initramfs"));
}

TEST_CASE("boot log: the init marker is the userspace verdict, the root-fs panic is root-fs") {
  std::string log =
      "Linux version 5.10.223 (kernelsmith@kernelsmith)\r\n"
      "Run /init as init process\r\n"
      "KSIMG-USERSPACE-OK k4/mipsel 5.10.223 machine=mips endian=little bits=32 float=1.414214 exec=ok\r\n"
      "reboot: Power down\r\n";
  auto r = run::judge_boot(log, initramfs_plan());
  CHECK(r.ok());
  CHECK(r.verdict == "userspace");
  CHECK(r.marker.rfind("KSIMG-USERSPACE-OK k4/mipsel", 0) == 0);
  auto root = run::plan_boot(matrix::builtin(), "k4", "mipsel", "/o/vmlinux", "/o/dtbs");
  auto rf = run::judge_boot(
      "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n", root);
  CHECK(rf.ok());
  CHECK(rf.verdict == "root-fs");
}

TEST_CASE(
    "boot log: an init the kernel cannot run is init-failed, in the kernel's words and what they mean") {
  auto enoexec = run::judge_boot(
      "Run /init as init process\nFailed to execute /init (error -8)\nRun /sbin/init as init process\n"
      "Kernel panic - not syncing: No working init found.  Try passing init= option to kernel.\n",
      initramfs_plan());
  CHECK_FALSE(enoexec.ok());
  CHECK(enoexec.verdict == "init-failed");
  CHECK(enoexec.reason.find("Failed to execute /init (error -8)") != std::string::npos);
  CHECK(enoexec.reason.find("exec format error") != std::string::npos);
  auto sigill = run::judge_boot("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000004\n",
                                initramfs_plan());
  CHECK(sigill.verdict == "init-failed");
  CHECK(sigill.reason.find("signal 4 (SIGILL") != std::string::npos);
  auto exited = run::judge_boot("Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n",
                                initramfs_plan());
  CHECK(exited.reason.find("/init exited with status 1") != std::string::npos);
  auto check =
      run::judge_boot("KSIMG-USERSPACE-FAIL k4/mipsel endian\nreboot: Power down\n", initramfs_plan());
  CHECK(check.verdict == "init-failed");
  CHECK(check.reason.find("KSIMG-USERSPACE-FAIL k4/mipsel endian") != std::string::npos);
  auto none = run::judge_boot("Kernel panic - not syncing: No working init found.\n", initramfs_plan());
  CHECK(none.reason.find("has no /init") != std::string::npos);
}

TEST_CASE(
    "boot log: a kernel that ignores the initramfs or cannot unpack it fails with the config to check") {
  auto fell = run::judge_boot(
      "VFS: Cannot open root device \"(null)\" or unknown-block(0,0): error -6\n"
      "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n",
      initramfs_plan());
  CHECK(fell.verdict == "failed");
  CHECK(fell.reason.find("BLK_DEV_INITRD") != std::string::npos);
  auto junk = run::judge_boot(
      "Initramfs unpacking failed: invalid magic at start of compressed archive\n"
      "Kernel panic - not syncing: VFS: Unable to mount root fs\n",
      initramfs_plan());
  CHECK(junk.reason.find("could not unpack the initramfs: Initramfs unpacking failed: invalid magic") !=
        std::string::npos);
  auto quiet = run::judge_boot("Linux version 6.1.176\nrandom: crng init done\n", initramfs_plan("login:"));
  CHECK(quiet.verdict == "failed");
  CHECK(quiet.reason.find("no line matching --expect 'login:'; last line: random: crng init done") !=
        std::string::npos);
}
