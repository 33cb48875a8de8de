// The base layer definition and its pinning through mmdebstrap --simulate.
#include <doctest/doctest.h>

#include <algorithm>

#include "recipes/base.hpp"
#include "util/error.hpp"

using namespace ksimg;
using namespace ksimg::recipes;

TEST_CASE("layers/base.json loads and names the host tools a kernel build needs") {
  auto def = load_base(matrix::data_files(""));
  REQUIRE(def.has_value());
  CHECK(def->suite == "trixie");
  CHECK(def->variant == "minbase");
  for (const char* p :
       {"make",         "gcc",           "libc6-dev",  "bc",         "bison", "flex",
        "perl",         "python3",       "libssl-dev", "libelf-dev", "rsync", "cpio",
        "kmod",         "xz-utils",      "zstd",       "lz4",        "lzop",  "dwarves",
        "u-boot-tools", "bsdextrautils", "file",       "git",        "curl",  "ca-certificates",
        "ccache"}) {
    CAPTURE(p);
    CHECK(std::find(def->packages.begin(), def->packages.end(), p) != def->packages.end());
  }
  CHECK(def->sha256.size() == 64);
  bool drops_aux_cache = false;
  for (const auto& d : def->drop)
    drops_aux_cache = drops_aux_cache || d.path == "var/cache/ldconfig/aux-cache";
  CHECK(drops_aux_cache);
}

TEST_CASE("base definitions with unknown keys or hostile drop paths are rejected") {
  matrix::DataFiles f{
      {"layers/base.json", R"({"schema":1,"suite":"trixie","variant":"minbase","architecture":"amd64",
    "packages":["make"],"why":{},"drop":[],"extra":1})"}};
  CHECK_THROWS_WITH_AS(load_base(f), doctest::Contains("unknown key \"extra\""), DataError);
  f["layers/base.json"] = R"({"schema":1,"suite":"trixie","variant":"minbase","architecture":"amd64",
    "packages":["make"],"why":{},"drop":[{"path":"../etc","why":"x"}]})";
  CHECK_THROWS_WITH_AS(load_base(f), doctest::Contains("without '..'"), DataError);
  f["layers/base.json"] = R"({"schema":1,"suite":"trixie","variant":"minbase","architecture":"amd64",
    "packages":["Make It"],"why":{},"drop":[]})";
  CHECK_THROWS_WITH_AS(load_base(f), doctest::Contains("not a Debian package name"), DataError);
  CHECK_FALSE(load_base(matrix::DataFiles{}).has_value());
}

TEST_CASE("mmdebstrap's simulated install list becomes name and version pairs") {
  std::string out =
      "I: simulate installing essential packages...\n"
      "Inst gcc-14-base (14.2.0-19 Debian:13.8/stable [amd64])\n"
      "Inst libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64]) []\n"
      "Conf libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64])\n"
      "Inst libc6 (2.41-12+deb13u5 Debian:13.8/stable [amd64])\n"
      "Inst libstdc++6:amd64 (14.2.0-19 Debian:13.8/stable [amd64])\n";
  auto p = parse_simulated(out);
  REQUIRE(p.size() == 3);
  CHECK(p[0] == std::pair<std::string, std::string>{"gcc-14-base", "14.2.0-19"});
  CHECK(p[1] == std::pair<std::string, std::string>{"libc6", "2.41-12+deb13u5"});
  CHECK(p[2].first == "libstdc++6");
  CHECK(parse_simulated("nothing here\n").empty());
}

TEST_CASE("the mmdebstrap command line pins what it is given") {
  BaseDefinition d{"trixie", "minbase", "amd64", {"make=4.4.1-2", "bc=1.07.1-4"}, {}, ""};
  auto argv = mmdebstrap_argv(d, "http://127.0.0.1:9/debian", "/k.gpg", "/tmp/root", false);
  CHECK(argv.front() == "mmdebstrap");
  CHECK(std::find(argv.begin(), argv.end(), "--include=make=4.4.1-2,bc=1.07.1-4") != argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "--keyring=/k.gpg") != argv.end());
  CHECK(std::find(argv.begin(), argv.end(), "--simulate") == argv.end());
  CHECK(argv[argv.size() - 3] == "trixie");
  CHECK(argv.back() == "http://127.0.0.1:9/debian");
  auto sim = mmdebstrap_argv(d, "m", "", "/tmp/r", true);
  CHECK(std::find(sim.begin(), sim.end(), "--simulate") != sim.end());
  CHECK(std::find(sim.begin(), sim.end(), "--verbose") != sim.end());
}
