// The smoke check's judgement of readelf output against the cell.
#include <doctest/doctest.h>

#include "matrix/data.hpp"
#include "run/smoke.hpp"

using namespace ksimg;

static std::string readelf(const char* cls, const char* data, const char* machine, const char* flags) {
  return std::string(
             "dumpmachine: x-linux-gnu\nELF Header:\n  Magic:   7f 45 4c 46\n  Class:                        "
             "     ") +
         cls + "\n  Data:                              " + data +
         "\n  Machine:                           " + machine +
         "\n  Flags:                             " + flags + "\nfile: ELF executable\n";
}

static run::SmokeResult judge(const std::string& out, const char* arch, const char* recipe) {
  const auto& m = matrix::builtin();
  return run::judge_smoke(out, m.arches.at(arch), m.recipe(recipe));
}

TEST_CASE("smoke: a correct mipsel binary passes") {
  auto r = judge(
      readelf("ELF32", "2's complement, little endian", "MIPS R3000", "0x1005, noreorder, o32, mips32r2"),
      "mipsel", "debian-bullseye-gcc10-mipsel");
  CHECK(r.ok());
  CHECK(r.dumpmachine == "x-linux-gnu");
  CHECK(r.machine == "MIPS R3000");
}

TEST_CASE("smoke: wrong endianness, n32 instead of n64, wrong machine fail with the reason") {
  auto be = judge(readelf("ELF32", "2's complement, big endian", "MIPS R3000", "0x0"), "mipsel",
                  "debian-bullseye-gcc10-mipsel");
  REQUIRE_FALSE(be.ok());
  CHECK(be.problems[0].find("want little endian") != std::string::npos);
  auto n32 = judge(readelf("ELF32", "2's complement, little endian", "MIPS R3000", "0x20, n32"), "mips64el",
                   "debian-bullseye-gcc10-mips64el");
  REQUIRE_FALSE(n32.ok());
  CHECK(n32.problems[0].find("n64, not n32") != std::string::npos);
  auto arm = judge(readelf("ELF64", "2's complement, little endian", "AArch64", "0x0"), "armhf",
                   "debian-trixie-gcc13-armhf");
  CHECK(arm.problems.size() == 2);
  CHECK(judge("", "x86_64", "debian-trixie-gcc13-x86_64").problems.size() >= 4);
}

TEST_CASE("smoke: powerpc64 checks the ABI its recipe promises") {
  auto v1 = readelf("ELF64", "2's complement, big endian", "PowerPC64", "0x1, abiv1");
  auto v2 = readelf("ELF64", "2's complement, big endian", "PowerPC64", "0x2, abiv2");
  CHECK(judge(v1, "powerpc64", "debian-trixie-gcc13-powerpc64").ok());
  CHECK(judge(readelf("ELF64", "2's complement, big endian", "PowerPC64", "0x0"), "powerpc64",
              "ko-gcc6.5.0-powerpc64")
            .ok());
  CHECK_FALSE(judge(v2, "powerpc64", "ko-gcc6.5.0-powerpc64").ok());
  CHECK(judge(v2, "powerpc64", "bootlin-2020.08-1-powerpc64").ok());
  CHECK_FALSE(judge(v1, "powerpc64", "bootlin-2020.08-1-powerpc64").ok());
}

TEST_CASE("smoke: the script compiles freestanding and reads the ELF header") {
  const auto& m = matrix::builtin();
  auto mips = run::smoke_script(m.arches.at("mipsel"));
  CHECK(mips.find("-mno-abicalls") != std::string::npos);
  CHECK(mips.find("${CROSS_COMPILE}readelf") != std::string::npos);
  CHECK(mips.find("-ffreestanding") != std::string::npos);
  CHECK(run::smoke_script(m.arches.at("arm64")).find("-mno-abicalls") == std::string::npos);
}
