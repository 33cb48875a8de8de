// The debian kind's path rules (src/layers/debian.cpp): the CROSS_COMPILE links, and for a
// recipe with an install_dir (debian-bullseye-gcc10-x86_64) the moves and the links that
// make its gcc use its own binutils. Paths as bullseye's gcc-10, cpp-10 and
// binutils-x86-64-linux-gnu packages list them.
#include <doctest/doctest.h>

#include "layers/toolchain_kinds.hpp"
#include "matrix/data.hpp"
#include "recipes/spec.hpp"

using namespace ksimg;
using layers::detail::apply_moves;

namespace {

const std::vector<std::string> kBullseyeNative = {"usr/bin/x86_64-linux-gnu-gcc-10",
                                                  "usr/bin/gcc-10",
                                                  "usr/bin/x86_64-linux-gnu-cpp-10",
                                                  "usr/bin/x86_64-linux-gnu-as",
                                                  "usr/bin/x86_64-linux-gnu-ld.bfd",
                                                  "usr/bin/x86_64-linux-gnu-ld",
                                                  "usr/lib/gcc/x86_64-linux-gnu/10/cc1",
                                                  "usr/lib/gcc/x86_64-linux-gnu/10/collect2",
                                                  "usr/lib/gcc/x86_64-linux-gnu/10/plugin/cc1",
                                                  "usr/lib/x86_64-linux-gnu/ldscripts/elf_x86_64.x",
                                                  "usr/lib/x86_64-linux-gnu/libbfd-2.35.2-system.so"};

}  // namespace

TEST_CASE("debian toolchain: an install_dir moves the binutils usr/bin and ldscripts, nothing else") {
  const std::string dir = "/opt/toolchains/debian-bullseye-gcc10-x86_64";
  auto moves = layers::detail::debian_moves(dir, "x86_64-linux-gnu");
  REQUIRE(moves.size() == 2);
  CHECK(apply_moves("usr/bin/x86_64-linux-gnu-ld", moves) == dir.substr(1) + "/bin/x86_64-linux-gnu-ld");
  CHECK(apply_moves("usr/bin", moves) == dir.substr(1) + "/bin");
  CHECK(apply_moves("usr/lib/x86_64-linux-gnu/ldscripts/elf_x86_64.x", moves) ==
        dir.substr(1) + "/lib/ldscripts/elf_x86_64.x");
  CHECK(apply_moves("usr/lib/x86_64-linux-gnu/libbfd-2.35.2-system.so", moves) ==
        "usr/lib/x86_64-linux-gnu/libbfd-2.35.2-system.so");
  CHECK(apply_moves("usr/lib/gcc/x86_64-linux-gnu/10/cc1", moves) == "usr/lib/gcc/x86_64-linux-gnu/10/cc1");
  CHECK(apply_moves("usr/binfmt", moves) == "usr/binfmt");
  CHECK(layers::detail::debian_moves("", "x86_64-linux-gnu").empty());
}

TEST_CASE("debian toolchain: gcc's private dir gets as and ld links to the recipe's own binutils") {
  const std::string dir = "/opt/toolchains/debian-bullseye-gcc10-x86_64";
  auto links = layers::detail::private_binutils_links(kBullseyeNative, "x86_64-linux-gnu", dir);
  REQUIRE(links.size() == 2);
  CHECK(links[0].first == "usr/lib/gcc/x86_64-linux-gnu/10/as");
  CHECK(links[0].second == dir + "/bin/x86_64-linux-gnu-as");
  CHECK(links[1].first == "usr/lib/gcc/x86_64-linux-gnu/10/ld");
  CHECK(links[1].second == dir + "/bin/x86_64-linux-gnu-ld");
  CHECK(layers::detail::private_binutils_links(kBullseyeNative, "x86_64-linux-gnu", "").empty());
  // Without the recipe's own as, gcc keeps looking on PATH.
  std::vector<std::string> no_as = {"usr/lib/gcc/x86_64-linux-gnu/10/cc1", "usr/bin/x86_64-linux-gnu-ld"};
  auto only_ld = layers::detail::private_binutils_links(no_as, "x86_64-linux-gnu", dir);
  REQUIRE(only_ld.size() == 1);
  CHECK(only_ld[0].first == "usr/lib/gcc/x86_64-linux-gnu/10/ld");
  // The CROSS_COMPILE links are made from the package paths, then moved with usr/bin
  // (build_debian then points them at /usr/bin/<triple>-gcc-N, where gcc-N stays).
  auto cross = layers::detail::cross_links(kBullseyeNative, "x86_64-linux-gnu");
  REQUIRE(cross.size() == 2);
  auto moves = layers::detail::debian_moves(dir, "x86_64-linux-gnu");
  CHECK(apply_moves(cross[0].first, moves) == dir.substr(1) + "/bin/x86_64-linux-gnu-cpp");
  CHECK(cross[0].second == "x86_64-linux-gnu-cpp-10");
  CHECK(apply_moves(cross[1].first, moves) == dir.substr(1) + "/bin/x86_64-linux-gnu-gcc");
}

TEST_CASE("debian recipe: install_dir is optional, absolute and below /opt") {
  auto specs = recipes::load_specs(matrix::data_files(KSIMG_SRC_DIR));
  CHECK(specs.at("debian-bullseye-gcc10-x86_64").debian.install_dir ==
        "/opt/toolchains/debian-bullseye-gcc10-x86_64");
  CHECK(specs.at("debian-bullseye-gcc10-mipsel").debian.install_dir.empty());
  auto one = [](const std::string& extra) {
    return recipes::load_specs({{"recipes/r.json", R"({"name": "r", "arch": "x86_64", "gcc": "1", "libc": "x",
      "triple": "t", "kind": "debian", "suite": "bullseye", "packages": ["gcc-10"])" +
                                                       extra + "}"}});
  };
  CHECK(one(R"(, "install_dir": "/opt/tc")").at("r").debian.install_dir == "/opt/tc");
  CHECK_THROWS_WITH_AS(one(R"(, "install_dir": "usr/local")"), doctest::Contains("below /opt/"), DataError);
  CHECK_THROWS_WITH_AS(one(R"(, "install_dir": "/opt/../usr")"), doctest::Contains("below /opt/"), DataError);
}
