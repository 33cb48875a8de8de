// kbuild's initramfs target: the newc writer (format, sorting, fixed owners and mtimes, same
// bytes for the same entries, read back by the system's cpio when present), the uname -m
// prefix per cell, the target in the plan, and the init source carried as data.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "kbuild/initramfs.hpp"
#include "kbuild/plan.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;

namespace {

Plan plan_for(const char* era, const char* arch, const char* recipe, std::vector<std::string> targets = {},
              std::optional<std::string> init_abi = std::nullopt) {
  const auto& m = matrix::builtin();
  auto id = identify(m, {{"KSIMG_ERA", era}, {"KSIMG_ARCH", arch}, {"KSIMG_RECIPE", recipe}});
  BuildOptions o;
  o.version = era == std::string("k4") ? "5.10.223" : "6.1.176";
  o.targets = std::move(targets);
  o.init_abi = std::move(init_abi);
  return make_plan(m, matrix::builtin_quirks(), id, o, matrix::parse_version(o.version), {}, 2);
}

std::vector<CpioEntry> sample() {
  return {{"sys", S_IFDIR | 0755, "", 0, 0},
          {"init", S_IFREG | 0755, "abcde", 0, 0},
          {"dev/console", S_IFCHR | 0600, "", 5, 1},
          {"dev", S_IFDIR | 0755, "", 0, 0}};
}

}  // namespace

TEST_CASE("newc archive: sorted members, owner 0:0, fixed mtime, 4-byte alignment, trailer") {
  std::string a = newc_archive(sample(), 1754730990);
  CHECK(a == newc_archive(sample(), 1754730990));
  CHECK(a != newc_archive(sample(), 1));
  CHECK(a.size() % 512 == 0);
  CHECK(a.rfind("070701", 0) == 0);
  // First member: "dev" (sorted), inode 1, a directory, uid/gid 0, the given mtime.
  CHECK(a.substr(6, 8) == "00000001");
  CHECK(a.substr(14, 8) == "000041ED");
  CHECK(a.substr(22, 16) == "0000000000000000");
  char mt[9];
  std::snprintf(mt, sizeof mt, "%08X", 1754730990u);
  CHECK(a.substr(46, 8) == mt);
  CHECK(a.substr(110, 4) == std::string("dev\0", 4));
  CHECK(a.find("dev/console") < a.find("init"));
  CHECK(a.find("init") < a.find("sys"));
  CHECK(a.find("TRAILER!!!") != std::string::npos);
  auto data = a.find("abcde");
  REQUIRE(data != std::string::npos);
  CHECK(data % 4 == 0);
}

TEST_CASE("newc archive: the system's cpio lists and extracts it") {
  if (std::system("command -v cpio >/dev/null 2>&1") != 0) return;
  TempDir d("cpio");
  files::write_atomic(d / "a.cpio", newc_archive(sample(), 1), 0644);
  std::string cmd = "cd '" + d.path().string() + "' && cpio -it --quiet < a.cpio > list";
  REQUIRE(std::system(cmd.c_str()) == 0);
  CHECK(files::read(d / "list") == "dev\ndev/console\ninit\nsys\n");
}

TEST_CASE("uname -m prefixes per cell") {
  CHECK(uname_machine_prefix(plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel")) == "mips");
  CHECK(uname_machine_prefix(plan_for("k4", "mips64eb", "debian-bullseye-gcc10-mips64eb")) == "mips64");
  CHECK(uname_machine_prefix(plan_for("k6", "powerpc64le", "debian-trixie-gcc13-powerpc64le")) == "ppc64le");
  CHECK(uname_machine_prefix(plan_for("k6", "powerpc64", "debian-trixie-gcc13-powerpc64")) == "ppc64");
  CHECK(uname_machine_prefix(plan_for("k6", "powerpc", "debian-trixie-gcc13-powerpc")) == "ppc");
  CHECK(uname_machine_prefix(plan_for("k6", "arm64", "debian-trixie-gcc13-arm64")) == "aarch64");
  CHECK(uname_machine_prefix(plan_for("k6", "armel", "debian-trixie-gcc13-armel")) == "arm");
  CHECK(uname_machine_prefix(plan_for("k6", "riscv64", "debian-trixie-gcc13-riscv64")) == "riscv64");
  CHECK(uname_machine_prefix(plan_for("k6", "x86_64", "debian-trixie-gcc13-x86_64")) == "x86_64");
}

TEST_CASE("the machine a 64-bit kernel reports to a 32-bit cell's init through its compat ABI") {
  CHECK(compat_machine(plan_for("k4", "armhf", "debian-bullseye-gcc10-armhf")) == "aarch64");
  CHECK(compat_machine(plan_for("k6", "armel", "debian-trixie-gcc13-armel")) == "aarch64");
  CHECK(compat_machine(plan_for("k6", "powerpc", "debian-trixie-gcc13-powerpc")) == "ppc64");
  CHECK(compat_machine(plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel"))
            .empty());  // "mips64" has the prefix
  CHECK(compat_machine(plan_for("k6", "arm64", "debian-trixie-gcc13-arm64")).empty());
  CHECK(compat_machine(plan_for("k6", "x86_64", "debian-trixie-gcc13-x86_64")).empty());
}

TEST_CASE("initramfs target: alone it needs no vmlinux, the plan knows the libc, the init source is data") {
  auto p = plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", {"initramfs"});
  CHECK(p.targets == std::vector<std::string>{"initramfs"});
  CHECK(p.libc.rfind("glibc 2.31", 0) == 0);
  auto q = plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", {"initramfs", "vmlinux"});
  CHECK(q.targets == std::vector<std::string>{"vmlinux", "initramfs"});
  auto files = matrix::data_files("");
  REQUIRE(files.count("userland/init.c") == 1);
  CHECK(files.at("userland/init.c").find("KSIMG-USERSPACE-OK") != std::string::npos);
  CHECK(matrix::read_data_dir(KSIMG_SRC_DIR).at("userland/init.c") == files.at("userland/init.c"));
}

TEST_CASE("--init-abi: the x86_64 cells' i386 userland, checked against the recipe and the targets") {
  for (auto [era, recipe] :
       {std::pair{"k4", "debian-bullseye-gcc10-x86_64"}, {"k6", "debian-trixie-gcc13-x86_64"}}) {
    auto p = plan_for(era, "x86_64", recipe, {"initramfs"}, "i386");
    REQUIRE(p.init_abi.has_value());
    CHECK(p.init_abi->triple == "i686-linux-gnu");
    CHECK(p.init_abi->libc.rfind("glibc ", 0) == 0);
    auto t = init_target(p);
    CHECK(t.label == std::string(era) + "/x86_64:i386");
    CHECK(t.cross_compile == "i686-linux-gnu-");
    CHECK(t.bits == 32);
    CHECK(t.endian == "little");
    CHECK(t.machine == "i");  // i386 .. i686 under linux32
    CHECK(t.compat_machine == "x86_64");
    // Without --init-abi the init is the cell's own.
    auto own = init_target(plan_for(era, "x86_64", recipe, {"initramfs"}));
    CHECK(own.cross_compile == "x86_64-linux-gnu-");
    CHECK(own.bits == 64);
  }
  CHECK_THROWS_WITH_AS(plan_for("k4", "mipsel", "debian-bullseye-gcc10-mipsel", {"initramfs"}, "i386"),
                       doctest::Contains("k4/mipsel's toolchain builds no such userland (no compat ABI)"),
                       UsageError);
  CHECK_THROWS_WITH_AS(plan_for("k6", "x86_64", "debian-trixie-gcc13-x86_64", {"initramfs"}, "x32"),
                       doctest::Contains("compat ABIs: i386"), UsageError);
  CHECK_THROWS_WITH_AS(plan_for("k6", "x86_64", "debian-trixie-gcc13-x86_64", {"vmlinux"}, "i386"),
                       doctest::Contains("add --targets initramfs"), UsageError);
}

TEST_CASE("every compat userland a recipe lists has init checks in kbuild") {
  int n = 0;
  for (const auto& [name, r] : matrix::builtin().recipes)
    for (const auto& c : r.compat) {
      INFO(name << " compat " << c.abi);
      CHECK(c.abi == "i386");  // compat_target knows i386; a new ABI needs its checks there
      CHECK(!c.triple.empty());
      CHECK(c.libc.rfind("glibc ", 0) == 0);
      ++n;
    }
  CHECK(n == 2);  // the bullseye and trixie x86_64 recipes
}
