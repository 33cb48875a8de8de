// Unit tests for the lock file (src/recipes/lock.*, locker.*, spec.*): canonical rendering,
// strict parsing, recipe validation, and `ksimg lock` for recipes that need no network
// (tarball, script): selection, merging, byte-identical re-runs, source_date_epoch.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>

#include "http/transport.hpp"
#include "recipes/lock.hpp"
#include "recipes/locker.hpp"
#include "recipes/spec.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::recipes;

namespace {

Lock sample() {
  Lock l;
  l.source_date_epoch = 1754730990;
  l.debian_suites["bullseye"] = {"oldoldstable", "bullseye", "Sat, 09 Aug 2025 09:16:30 UTC", std::nullopt,
                                 std::string(64, 'e')};
  LockedRecipe d{"debian", "locked", std::string(64, 'd'), "bullseye", {}, {}, {}};
  d.packages.push_back({"gcc-10-mipsel-linux-gnu", "10.2.1-6cross1", "amd64",
                        "pool/main/g/gcc-10-cross-mipsen/gcc-10-mipsel-linux-gnu_10.2.1-6cross1_amd64.deb",
                        13635536, std::string(64, 'a')});
  l.recipes["z-debian"] = d;
  l.recipes["a-tarball"] = {
      "tarball",           "locked", std::string(64, 'c'), "", {}, {"https://example.test/t.tar.xz"},
      std::string(64, 'f')};
  l.recipes["m-script"] = {"script", "pending", std::string(64, 'b'), "", {}, {}, ""};
  return l;
}

struct Env {
  std::string name;
  Env(const std::string& n, const char* v) : name(n) {
    if (v)
      ::setenv(n.c_str(), v, 1);
    else
      ::unsetenv(n.c_str());
  }
  ~Env() { ::unsetenv(name.c_str()); }
};

LockRequest request(const TempDir& dir, std::vector<std::string> recipes,
                    std::vector<std::string> cells = {}) {
  LockRequest r;
  r.data_dir = KSIMG_SRC_DIR;
  r.recipes = std::move(recipes);
  r.cells = std::move(cells);
  r.lock_file = dir / "ksimg.lock.json";
  r.keyring = "/nonexistent";  // no debian recipe is selected: never used
  return r;
}

}  // namespace

TEST_CASE("lock file: canonical text, round trip, fixed key order") {
  std::string text = render_lock(sample());
  CHECK(text.rfind("{\n  \"schema\": 1,\n  \"source_date_epoch\": 1754730990,\n  \"debian_suites\": {", 0) ==
        0);
  CHECK(text.back() == '\n');
  CHECK(text.find("\"valid_until\": null") != std::string::npos);
  CHECK(text.find("a-tarball") < text.find("m-script"));  // recipes sorted by name
  CHECK(text.find("m-script") < text.find("z-debian"));
  CHECK(text.find("http://") == std::string::npos);  // no mirror anywhere
  Lock back = parse_lock(text, "ksimg.lock.json");
  CHECK(render_lock(back) == text);
  CHECK(back.recipes.at("z-debian").packages.at(0).size == 13635536);
  CHECK(back.recipes.at("m-script").status == "pending");
}

TEST_CASE("lock file: malformed files are data errors naming the problem") {
  std::string text = render_lock(sample());
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    return t.replace(t.find(from), from.size(), to);
  };
  CHECK_THROWS_WITH_AS(parse_lock(replaced("\"schema\": 1", "\"schema\": 2"), "L"),
                       doctest::Contains("unsupported lock schema"), DataError);
  CHECK_THROWS_WITH_AS(parse_lock(replaced("\"status\": \"pending\"", "\"status\": \"maybe\""), "L"),
                       doctest::Contains("status"), DataError);
  CHECK_THROWS_WITH_AS(parse_lock(replaced("\"suite\": \"bullseye\"", "\"suite\": \"trixie\""), "L"),
                       doctest::Contains("debian_suites lacks"), DataError);
  CHECK_THROWS_WITH_AS(parse_lock(replaced("\"schema\"", "\"extra\": 1, \"schema\""), "L"),
                       doctest::Contains("unknown key \"extra\""), DataError);
  CHECK_THROWS_AS(parse_lock(replaced("13635536", "-1"), "L"), DataError);
  CHECK_THROWS_AS(parse_lock("{", "L"), DataError);
}

TEST_CASE("recipe specs: the project's recipes validate, kind-specific mistakes are data errors") {
  auto specs = load_specs(matrix::data_files(KSIMG_SRC_DIR));
  CHECK(specs.size() == matrix::get(KSIMG_SRC_DIR).recipes.size());
  CHECK(specs.at("debian-bullseye-gcc10-mipsel").debian.suite == "bullseye");
  CHECK(specs.at("debian-bullseye-gcc10-mipsel").debian.packages.at(0) == "gcc-10-mipsel-linux-gnu");
  CHECK(specs.at("bootlin-2018.02-1-mipsel").tarball.urls.size() == 1);
  CHECK(specs.at("ko-gcc4.4.7-mipsel").script.builder == "kernel-only");
  auto one = [](const std::string& json) { return load_specs({{"recipes/r.json", json}}); };
  const std::string head = R"({"name": "r", "arch": "mipsel", "gcc": "1", "libc": "x", "triple": "t", )";
  CHECK(one(head + R"("kind": "debian", "suite": "trixie", "packages": ["gcc-13"]})").at("r").kind ==
        "debian");
  CHECK_THROWS_WITH_AS(one(head + R"("kind": "debian", "suite": "trixie", "packages": ["Gcc_13"]})"),
                       doctest::Contains("not a Debian package name"), DataError);
  CHECK_THROWS_WITH_AS(one(head + R"("kind": "debian", "suite": "trixie", "packages": ["a1", "a1"]})"),
                       doctest::Contains("listed twice"), DataError);
  CHECK_THROWS_WITH_AS(
      one(head + R"("kind": "debian", "suite": "trixie", "packages": ["a1"], "sha256": "x"})"),
      doctest::Contains("belongs to kind tarball"), DataError);
  CHECK_THROWS_WITH_AS(one(head + R"("kind": "tarball", "release": "r", "urls": ["https://x.test/a"],
                           "sha256": "ABC", "install_dir": "/opt/x", "relocate": "r.sh"})"),
                       doctest::Contains("sha256"), DataError);
  CHECK_THROWS_AS(one(head + R"("kind": "script", "builder": "make"})"), DataError);
  CHECK_THROWS_AS(one(head + R"("kind": "debian", "packages": ["a1"]})"), DataError);  // no suite
}

TEST_CASE("ksimg lock without network: select, write, re-run byte-identical, merge, epoch") {
  TempDir dir("ksimg-lock");
  Env sde("SOURCE_DATE_EPOCH", "1700000000");
  auto t = http::make_transport();
  auto r1 = lock_recipes(request(dir, {"ko-gcc4.4.7-mipsel"}, {"k3/mipsel"}), *t);
  CHECK(r1.written);
  CHECK(r1.recipes.size() == 2);
  std::string first = files::read(dir / "ksimg.lock.json");
  Lock l = parse_lock(first, "L");
  CHECK(l.source_date_epoch == 1700000000);
  CHECK(l.recipes.at("bootlin-2018.02-1-mipsel").sha256 ==
        "97e110476f6f63b056e2f891e36c12f024295855542c8c673d6905d1c17c7f9c");
  CHECK(l.recipes.at("ko-gcc4.4.7-mipsel").status == "locked");  // its four inputs are pinned
  CHECK(l.recipes.at("ko-gcc4.4.7-mipsel").inputs.size() == 4);
  CHECK(l.debian_suites.empty());

  auto r2 = lock_recipes(request(dir, {"ko-gcc4.4.7-mipsel"}, {"k3/mipsel"}), *t);
  CHECK_FALSE(r2.written);
  CHECK(files::read(dir / "ksimg.lock.json") == first);

  Env later("SOURCE_DATE_EPOCH", "1800000000");  // an existing lock keeps its epoch
  auto r3 = lock_recipes(request(dir, {"bootlin-2024.05-1-arm64"}), *t);
  CHECK(r3.written);
  Lock merged = parse_lock(files::read(dir / "ksimg.lock.json"), "L");
  CHECK(merged.recipes.size() == 3);
  CHECK(merged.source_date_epoch == 1700000000);
}

TEST_CASE("ksimg lock: bad selections and files fail before anything is written") {
  TempDir dir("ksimg-lock");
  auto t = http::make_transport();
  CHECK_THROWS_WITH_AS(lock_recipes(request(dir, {"no-such-recipe"}), *t),
                       doctest::Contains("no-such-recipe"), UsageError);
  CHECK_THROWS_WITH_AS(lock_recipes(request(dir, {}, {"k9/mipsel"}), *t), doctest::Contains("k9/mipsel"),
                       UsageError);
  CHECK_THROWS_WITH_AS(lock_recipes(request(dir, {}, {"k2.6/arm64"}), *t), doctest::Contains("unsupported"),
                       UsageError);
  {
    Env none("SOURCE_DATE_EPOCH", nullptr);
    CHECK_THROWS_WITH_AS(lock_recipes(request(dir, {"ko-gcc4.4.7-mipsel"}), *t),
                         doctest::Contains("SOURCE_DATE_EPOCH"), UsageError);
  }
  CHECK_FALSE(std::filesystem::exists(dir / "ksimg.lock.json"));
  files::write_atomic(dir / "ksimg.lock.json", "{\"schema\": 1}");
  Env sde("SOURCE_DATE_EPOCH", "1700000000");
  CHECK_THROWS_AS(lock_recipes(request(dir, {"ko-gcc4.4.7-mipsel"}), *t), DataError);
  CHECK(files::read(dir / "ksimg.lock.json") == "{\"schema\": 1}");
}

TEST_CASE("lock file: arm64 host pins round trip, an entry without them renders as before") {
  Lock l = sample();
  std::string before = render_lock(l);
  CHECK(before.find("\"hosts\"") == std::string::npos);
  auto& d = l.recipes.at("z-debian");
  d.hosts["arm64"].push_back(
      {"gcc-10-mipsel-linux-gnu", "10.2.1-6cross1", "arm64",
       "pool/main/g/gcc-10-cross-mipsen/gcc-10-mipsel-linux-gnu_10.2.1-6cross1_arm64.deb", 12345678,
       std::string(64, '4')});
  std::string text = render_lock(l);
  CHECK(text.find("\"hosts\": {\n        \"arm64\": {\n          \"packages\": [") != std::string::npos);
  CHECK(text.find("\"packages\": [") < text.find("\"hosts\""));  // amd64's first, unchanged
  Lock back = parse_lock(text, "L");
  CHECK(render_lock(back) == text);
  CHECK(back.recipes.at("z-debian").packages_for("arm64").at(0).size == 12345678);
  CHECK(back.recipes.at("z-debian").packages_for("amd64").at(0).architecture == "amd64");
  CHECK(back.recipes.at("a-tarball").packages_for("arm64").empty());
  auto bad = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    return parse_lock(t.replace(t.find(from), from.size(), to), "L");
  };
  CHECK_THROWS_WITH_AS(bad("\"arm64\": {", "\"riscv64\": {"), doctest::Contains("unknown key \"riscv64\""),
                       DataError);
  CHECK_THROWS_WITH_AS(bad("\"arm64\": {\n          \"packages\"", "\"arm64\": {\n          \"pkgs\""),
                       doctest::Contains("pkgs"), DataError);
}

TEST_CASE("recipe specs: hosts.arm64 names the arm64 package set, or why there is none") {
  auto specs = load_specs(matrix::data_files(KSIMG_SRC_DIR));
  const auto& mipsel = specs.at("debian-trixie-gcc13-mipsel").debian;
  REQUIRE(mipsel.arm64);
  CHECK(mipsel.arm64->packages == mipsel.packages);  // {}: the same packages
  CHECK(mipsel.for_host("arm64", "r").packages == mipsel.packages);
  const auto& x86 = specs.at("debian-trixie-gcc13-x86_64").debian;
  CHECK(x86.for_host("amd64", "r").packages.at(0) == "gcc-13-x86-64-linux-gnu");
  const auto& x86_arm64 = x86.for_host("arm64", "r").packages;  // the real cross set, and the i386 one
  CHECK(std::count(x86_arm64.begin(), x86_arm64.end(), "libc6-dev-amd64-cross") == 1);
  CHECK(std::count(x86_arm64.begin(), x86_arm64.end(), "gcc-13-i686-linux-gnu") == 1);
  CHECK(std::count(x86_arm64.begin(), x86_arm64.end(), "gcc-13-x86-64-linux-gnu") == 1);
  const auto& a64 = specs.at("debian-bullseye-gcc10-arm64").debian;
  CHECK(a64.install_dir.empty());
  CHECK(a64.for_host("arm64", "r").install_dir == "/opt/toolchains/debian-bullseye-gcc10-arm64");
  const auto& ppc = specs.at("debian-bullseye-gcc10-powerpc64").debian;
  CHECK(!ppc.arm64);
  CHECK_THROWS_WITH_AS(ppc.for_host("arm64", "debian-bullseye-gcc10-powerpc64"),
                       doctest::Contains("has no arm64-hosted toolchain (bullseye builds"), UsageError);
  auto one = [](const std::string& hosts) {
    return load_specs({{"recipes/r.json", R"({"name": "r", "arch": "mipsel", "gcc": "1", "libc": "x", )"
                                          R"("triple": "t", "kind": "debian", "suite": "trixie", )"
                                          R"("packages": ["gcc-13"], "hosts": )" +
                                              hosts + "}"}});
  };
  CHECK(one(R"({"arm64": {"packages": ["gcc-13-x"]}})").at("r").debian.arm64->packages.at(0) == "gcc-13-x");
  CHECK(one(R"({"arm64": {"unavailable": "no such package"}})").at("r").debian.arm64_unavailable ==
        "no such package");
  CHECK_THROWS_WITH_AS(one(R"({"riscv64": {}})"), doctest::Contains("unknown key \"riscv64\""), DataError);
  CHECK_THROWS_WITH_AS(one(R"({"arm64": {"unavailable": "x", "packages": ["a1"]}})"),
                       doctest::Contains("goes alone"), DataError);
  CHECK_THROWS_WITH_AS(one(R"({"arm64": {"packages": ["A"]}})"),
                       doctest::Contains("not a Debian package name"), DataError);
  CHECK_THROWS_WITH_AS(one(R"({"arm64": {"install_dir": "/opt/x"}})"), doctest::Contains("goes with"),
                       DataError);
  CHECK_THROWS_WITH_AS(one(R"({"arm64": {"libc": "glibc"}})"), doctest::Contains("goes with"), DataError);
  CHECK_THROWS_WITH_AS(one(R"({"arm64": {"unavailable": "x", "libc": "glibc"}})"),
                       doctest::Contains("goes alone"), DataError);
}
