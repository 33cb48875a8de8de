// kbuild's cell identity and membership check: an image reports its cell and toolchain.
#include <doctest/doctest.h>

#include "kbuild/cell.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"

using namespace ksimg;

static kbuild::CellIdentity id_of(const char* era, const char* arch, const char* recipe) {
  return kbuild::identify(matrix::builtin(),
                          {{"KSIMG_ERA", era}, {"KSIMG_ARCH", arch}, {"KSIMG_RECIPE", recipe}});
}

static std::optional<std::string> other(const char* era, const char* arch, const char* recipe,
                                        const char* v) {
  return kbuild::other_image_for(matrix::builtin(), id_of(era, arch, recipe), matrix::parse_version(v));
}

TEST_CASE("kbuild identifies its cell from the image Env") {
  auto id = id_of("k4", "mipsel", "debian-bullseye-gcc10-mipsel");
  CHECK(id.cell->key() == "k4/mipsel");
  CHECK(id.image_tag == "k4-mipsel");
  CHECK(id_of("k4", "mipsel", "bootlin-2020.08-1-mipsel").image_tag == "k4-mipsel-bootlin");
  CHECK_THROWS_WITH_AS(kbuild::identify(matrix::builtin(), {}), doctest::Contains("KSIMG_ERA is not set"),
                       UsageError);
  CHECK_THROWS_WITH_AS(id_of("k4", "mipsel", "debian-trixie-gcc13-mipsel"),
                       doctest::Contains("not a toolchain of cell k4/mipsel"), UsageError);
  CHECK_THROWS_AS(id_of("k2.6", "arm64", "x"), UsageError);
}

TEST_CASE("kbuild accepts its own kernels and names the image for others") {
  CHECK_FALSE(other("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "5.10.223").has_value());
  CHECK(other("k4", "mipsel", "debian-bullseye-gcc10-mipsel", "3.18.140") == "k3-mipsel");
  CHECK(other("k4", "x86_64", "debian-bullseye-gcc10-x86_64", "4.10") == "k3-x86_64");
  CHECK_FALSE(other("k3", "x86_64", "mcm-gcc6.5.0-x86_64", "4.10").has_value());
  CHECK_FALSE(other("k4", "mipsel", "bootlin-2020.08-1-mipsel", "5.4").has_value());
  CHECK(other("k4", "mipsel", "bootlin-2020.08-1-mipsel", "6.6") == "k6-mipsel-bootlin");
  CHECK(other("k3", "x86_64", "mcm-gcc6.5.0-x86_64", "6.6") == "k6-x86_64");
}

TEST_CASE("kbuild states the kernels its cell builds, exceptions included") {
  const auto& m = matrix::builtin();
  CHECK(kbuild::supported_range(m, id_of("k3", "mipsel", "bootlin-2018.02-1-mipsel")) == "3.0 <= v < 4.0");
  CHECK(kbuild::supported_range(m, id_of("k4", "x86_64", "debian-bullseye-gcc10-x86_64")) ==
        "4.0 <= v < 6.0; except 4.0 <= v < 4.16 -> k3/x86_64 (x86_64-binutils-plt32)");
  CHECK(kbuild::supported_range(m, id_of("k3", "x86_64", "mcm-gcc6.5.0-x86_64")) ==
        "3.0 <= v < 4.0; also 4.0 <= v < 4.16 (x86_64-binutils-plt32)");
  CHECK(kbuild::supported_range(m, id_of("k6", "x86_64", "debian-trixie-gcc13-x86_64")) == "6.0 <= v");
}
