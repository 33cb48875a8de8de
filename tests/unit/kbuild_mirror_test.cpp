// kernel.org mirror layout and sha256sums.asc parsing (src/kbuild/mirror.hpp).
#include <doctest/doctest.h>

#include "kbuild/mirror.hpp"
#include "util/error.hpp"

using namespace ksimg;
using kbuild::MirrorEntry;

static std::vector<std::string> paths(const char* version) {
  std::vector<std::string> out;
  for (const auto& e : kbuild::tarball_candidates(matrix::parse_version(version))) out.push_back(e.path());
  return out;
}

TEST_CASE("kbuild mirror directory per era") {
  auto dir = [](const char* v) { return kbuild::mirror_dir(matrix::parse_version(v)); };
  CHECK(dir("2.6.31") == "v2.6");
  CHECK(dir("2.6.39.4") == "v2.6");
  CHECK(dir("3.18.140") == "v3.x");
  CHECK(dir("4.19") == "v4.x");
  CHECK(dir("5.10.223") == "v5.x");
  CHECK(dir("6.6") == "v6.x");
}

TEST_CASE("kbuild mirror tarball names, xz before gz") {
  CHECK(paths("5.10.223") ==
        std::vector<std::string>{"v5.x/linux-5.10.223.tar.xz", "v5.x/linux-5.10.223.tar.gz"});
  CHECK(paths("v5.10") == std::vector<std::string>{"v5.x/linux-5.10.tar.xz", "v5.x/linux-5.10.tar.gz"});
  CHECK(paths("5.10.0").front() == "v5.x/linux-5.10.tar.xz");
  CHECK(paths("linux-6.6").front() == "v6.x/linux-6.6.tar.xz");
  CHECK(kbuild::top_dir(matrix::parse_version("5.10.223")) == "linux-5.10.223");
}

TEST_CASE("kbuild mirror finds 2.6 long-term releases in their own directory") {
  auto p = paths("2.6.32.71");
  REQUIRE(p.size() == 4);
  CHECK(p[0] == "v2.6/linux-2.6.32.71.tar.xz");
  CHECK(p[2] == "v2.6/longterm/v2.6.32/linux-2.6.32.71.tar.xz");
  CHECK(paths("2.6.31").size() == 2);
}

TEST_CASE("kbuild mirror refuses versions without a release tarball") {
  CHECK_THROWS_WITH_AS(kbuild::tarball_candidates(matrix::parse_version("6.0-rc1")),
                       doctest::Contains("--source"), UsageError);
  matrix::Version custom = matrix::parse_version("5.10.223");
  custom.extra = "-custom";
  CHECK_THROWS_AS(kbuild::mirror_dir(custom), UsageError);
}

TEST_CASE("kbuild mirror URLs join with one slash") {
  CHECK(kbuild::join_url("http://127.0.0.1:8080/k/", "/v5.x/a") == "http://127.0.0.1:8080/k/v5.x/a");
  CHECK(kbuild::join_url("http://h", "v5.x/a") == "http://h/v5.x/a");
  MirrorEntry e{"v5.x", "linux-5.10.223.tar.xz"};
  CHECK(kbuild::sums_url(kbuild::default_kernel_mirror, e) ==
        "https://cdn.kernel.org/pub/linux/kernel/v5.x/sha256sums.asc");
}

static const char* signed_sums =
    "-----BEGIN PGP SIGNED MESSAGE-----\r\n"
    "Hash: SHA256\r\n"
    "\r\n"
    "08A6B5E6BBFF85EF017F67B722F6BEEC7F12FE36FC0F9043F27A91990B88CDE0  linux-5.10.229.tar.xz\r\n"
    "dcdf99e43e98330d925016985bfbc7b83c66d367b714b2de0cbbfcbf83d8ca43 *linux-5.10.tar.xz\n"
    "- -not a sum line\n"
    "deadbeef  short.tar.xz\n"
    "dcdf99e43e98330d925016985bfbc7b83c66d367b714b2de0cbbfcbf83d8ca43  ../escape.tar.xz\n"
    "-----BEGIN PGP SIGNATURE-----\n"
    "\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  sig.tar.xz\n"
    "-----END PGP SIGNATURE-----\n";

TEST_CASE("kbuild mirror parses a clearsigned sha256sums.asc") {
  auto sums = kbuild::parse_sha256sums(signed_sums);
  CHECK(sums.size() == 2);
  CHECK(kbuild::find_sha256(sums, "linux-5.10.229.tar.xz") ==
        "08a6b5e6bbff85ef017f67b722f6beec7f12fe36fc0f9043f27a91990b88cde0");
  CHECK(kbuild::find_sha256(sums, "linux-5.10.tar.xz") ==
        "dcdf99e43e98330d925016985bfbc7b83c66d367b714b2de0cbbfcbf83d8ca43");
  CHECK_FALSE(kbuild::find_sha256(sums, "sig.tar.xz"));
  CHECK_FALSE(kbuild::find_sha256(sums, "short.tar.xz"));
  CHECK(kbuild::parse_sha256sums("no sums here\n").empty());
}

TEST_CASE("kbuild mirror refuses a listing with two digests for one name") {
  std::string twice = std::string(64, 'a') + "  x.tar.xz\n" + std::string(64, 'b') + "  x.tar.xz\n";
  CHECK_THROWS_AS(kbuild::parse_sha256sums(twice), IntegrityError);
  std::string same = std::string(64, 'a') + "  x.tar.xz\n" + std::string(64, 'A') + "  x.tar.xz\n";
  CHECK(kbuild::parse_sha256sums(same).size() == 1);
}
