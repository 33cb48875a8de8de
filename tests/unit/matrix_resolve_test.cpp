// The resolver: every arch, every exception, the reasons it gives.
#include <doctest/doctest.h>

#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "util/error.hpp"

using namespace ksimg;
using namespace ksimg::matrix;

static Resolution res(const char* v, const char* arch, std::optional<std::string> src = std::nullopt) {
  return resolve(builtin(), parse_version(v), arch, src);
}

static bool why_has(const Resolution& r, const std::string& needle) {
  for (const auto& w : r.why)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

TEST_CASE("3.18.140 on mipsel is k3 and says why") {
  auto r = res("3.18.140", "mipsel");
  CHECK(r.era->name == "k3");
  CHECK(r.cell->key() == "k3/mipsel");
  CHECK(r.image_tag == "k3-mipsel");
  CHECK(r.recipe->name == "bootlin-2018.02-1-mipsel");
  CHECK(r.recipe->gcc == "6.4.0");
  CHECK(r.band == "3.0 <= 3.18.140 < 4.0");
  CHECK(why_has(r, "band k3 matched"));
  CHECK_FALSE(r.exception.has_value());
}

TEST_CASE("every arch resolves in every era, or is refused with a reason") {
  const auto& m = builtin();
  const char* sample[] = {"2.6.31", "3.18.140", "5.10.229", "6.6"};
  int ok = 0, refused = 0;
  for (const auto& arch : m.arch_order)
    for (const char* v : sample) {
      CAPTURE(arch);
      CAPTURE(v);
      try {
        auto r = resolve(m, parse_version(v), arch);
        CHECK(r.cell->arch == arch);
        CHECK(r.recipe->arch == arch);
        CHECK_FALSE(r.recipe->triple.empty());
        CHECK(r.image_tag == r.cell->era + "-" + arch);
        ++ok;
      } catch (const UsageError& e) {
        CHECK(std::string(e.what()).find(arch) != std::string::npos);
        ++refused;
      }
    }
  // powerpcle x4, arm64/powerpc64le at 2.6, riscv64 at 2.6 and 3.x.
  CHECK(refused == 8);
  CHECK(ok == 13 * 4 - 8);
}

TEST_CASE("arch availability") {
  CHECK_THROWS_WITH_AS(res("3.6", "arm64"), doctest::Contains("3.7"), UsageError);
  CHECK(res("3.7", "arm64").cell->key() == "k3/arm64");
  CHECK_THROWS_WITH_AS(res("2.6.31", "arm64"), doctest::Contains("3.7"), UsageError);
  CHECK_THROWS_WITH_AS(res("3.12", "powerpc64le"), doctest::Contains("3.13"), UsageError);
  CHECK_THROWS_WITH_AS(res("4.14", "riscv64"), doctest::Contains("4.15"), UsageError);
  CHECK(res("4.15", "riscv64").cell->key() == "k4/riscv64");
  CHECK_THROWS_WITH_AS(res("6.6", "powerpcle"), doctest::Contains("little-endian powerpc"), UsageError);
  CHECK_THROWS_WITH_AS(res("6.6", "sparc"), doctest::Contains("valid arches: armel"), UsageError);
}

TEST_CASE("exception x86_64-binutils-plt32: < 4.16 never gets binutils >= 2.31") {
  auto r = res("4.10", "x86_64");
  CHECK(r.era->name == "k4");
  REQUIRE(r.exception.has_value());
  CHECK(r.exception->id == "x86_64-binutils-plt32");
  CHECK(r.exception->from_cell == "k4/x86_64");
  CHECK(r.cell->key() == "k3/x86_64");
  CHECK(r.image_tag == "k3-x86_64");
  CHECK(compare_dotted(*r.recipe->binutils, "2.31") < 0);
  CHECK(r.exception->violated.find("2.35.2") != std::string::npos);
  CHECK(res("4.15.18", "x86_64").cell->key() == "k3/x86_64");
  // whatever the source the user picks
  CHECK(res("4.10", "x86_64", "bootlin").cell->key() == "k3/x86_64");
  CHECK(res("4.10", "x86_64", "script").recipe->name == "mcm-gcc6.5.0-x86_64");
  // the fixed kernels keep their era's cell
  CHECK(res("4.16", "x86_64").cell->key() == "k4/x86_64");
  CHECK(res("4.16-rc1", "x86_64").cell->key() == "k4/x86_64");
  CHECK(res("5.10.229", "x86_64").cell->key() == "k4/x86_64");
  // k3 itself already meets it: checked, not applied
  auto k3 = res("3.18.140", "x86_64");
  CHECK_FALSE(k3.exception.has_value());
  CHECK(why_has(k3, "x86_64-binutils-plt32 checked"));
  // other arches are untouched
  CHECK(res("4.10", "arm64").cell->key() == "k4/arm64");
}

TEST_CASE("exception x86_64-objtool-empty-symtab: 5.10.0-5.10.4 with binutils 2.36") {
  CHECK(res("5.10.3", "x86_64").cell->key() == "k4/x86_64");  // Debian's 2.35.2 is fine
  auto r = res("5.10.3", "x86_64", "bootlin");                // Bootlin 2021.11: 2.36.1
  REQUIRE(r.exception.has_value());
  CHECK(r.exception->id == "x86_64-objtool-empty-symtab");
  CHECK(r.cell->key() == "k3/x86_64");
  auto ok = res("5.10.5", "x86_64", "bootlin");
  CHECK_FALSE(ok.exception.has_value());
  CHECK(ok.image_tag == "k4-x86_64-bootlin");
}

TEST_CASE("exception powerpc64-k3-elfv1: 3.x ppc64 needs an ELFv1 gcc") {
  auto def = res("3.18.140", "powerpc64");
  CHECK(def.recipe->name == "ko-gcc6.5.0-powerpc64");
  CHECK_FALSE(def.exception.has_value());
  auto r = res("3.18.140", "powerpc64", "bootlin");
  REQUIRE(r.exception.has_value());
  CHECK(r.exception->id == "powerpc64-k3-elfv1");
  CHECK(r.recipe->abi == "elfv1");
  CHECK(r.image_tag == "k3-powerpc64");
  CHECK(res("5.10", "powerpc64", "bootlin").recipe->abi == "elfv2");  // k4 is fine with ELFv2
}

TEST_CASE("source choice") {
  CHECK(res("5.10", "mipsel").recipe->kind == "debian");
  CHECK(res("5.10", "mipsel", "bootlin").recipe->name == "bootlin-2020.08-1-mipsel");
  CHECK(res("5.10", "mipsel", "bootlin").image_tag == "k4-mipsel-bootlin");
  CHECK(res("6.6", "mips64el", "script").recipe->name == "mcm-gcc13.3.0-mips64el");
  CHECK_THROWS_WITH_AS(res("6.6", "mips64el", "bootlin"), doctest::Contains("sources are: debian, script"),
                       UsageError);
  CHECK(res("6.6", "x86_64").recipe->gcc == "13.3.0");
  CHECK(res("2.6.31", "mipsel").recipe->gcc == "4.4.7");
}
