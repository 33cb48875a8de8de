// Version parsing and band edges (facts §1.1).
#include <doctest/doctest.h>

#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "util/error.hpp"

using namespace ksimg;
using namespace ksimg::matrix;

static std::string era_of(const char* v) {
  return era_for(builtin(), parse_version(v)).name;
}

TEST_CASE("versions parse as people type them") {
  CHECK(parse_version("2.6.31").str() == "2.6.31");
  CHECK(parse_version("2.6.39.4").sub == 4);
  CHECK(parse_version("3.18.140").patch == 140);
  CHECK(parse_version("4.10").minor == 10);
  CHECK_FALSE(parse_version("4.10").patch.has_value());
  CHECK(parse_version("5.10.229").str() == "5.10.229");
  CHECK(parse_version("6.6").str() == "6.6");
  CHECK(parse_version("6.0-rc1").rc == 1);
  CHECK(parse_version("6.0-rc1").str() == "6.0-rc1");
  CHECK(parse_version("v5.10").str() == "5.10");
  CHECK(parse_version("linux-5.10.229").str() == "5.10.229");
  CHECK(parse_version("7.0").major == 7);
}

TEST_CASE("malformed versions are usage errors that name the accepted forms") {
  for (const char* bad : {"5", "abc", "7.x", "", "5.10.", ".5", "5..10", "v", "5.10-rc", "5.10.1.2", "linux-",
                          "2.4.37", "1.0", "2.7"}) {
    CAPTURE(bad);
    try {
      parse_version(bad);
      FAIL("accepted");
    } catch (const UsageError& e) {
      CHECK(e.code() == Exit::usage);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
  CHECK_THROWS_WITH_AS(parse_version("5"), doctest::Contains("MAJOR.MINOR"), UsageError);
  CHECK_THROWS_WITH_AS(parse_version("2.4.37"), doctest::Contains("2.6 and later"), UsageError);
}

TEST_CASE("band edges") {
  CHECK(era_of("2.6") == "k2.6");
  CHECK(era_of("2.6.31") == "k2.6");
  CHECK(era_of("2.6.39.4") == "k2.6");
  CHECK(era_of("3.0-rc1") == "k3");
  CHECK(era_of("3.0") == "k3");
  CHECK(era_of("3.18.140") == "k3");
  CHECK(era_of("3.99") == "k3");
  CHECK(era_of("4.0") == "k4");
  CHECK(era_of("4.9") == "k4");
  CHECK(era_of("4.10") == "k4");
  CHECK(era_of("5.10.229") == "k4");
  CHECK(era_of("5.19") == "k4");
  CHECK(era_of("6.0-rc1") == "k6");
  CHECK(era_of("6.0") == "k6");
  CHECK(era_of("6.6") == "k6");
  CHECK(era_of("7.1") == "k6");
}

TEST_CASE("ordering is numeric and rc belongs to its release") {
  CHECK(parse_version("4.9").before(parse_version("4.10")));
  CHECK_FALSE(parse_version("4.10").before(parse_version("4.9")));
  CHECK(parse_version("4.9.337").before(parse_version("4.10")));
  CHECK_FALSE(parse_version("6.0-rc1").before(parse_version("6.0")));
  CHECK(parse_version("2.6.39.4").before(parse_version("3.0")));
  CHECK(compare_dotted("2.35.2", "2.31") > 0);
  CHECK(compare_dotted("2.27", "2.31") < 0);
  CHECK(compare_dotted("2.31", "2.31.0") == 0);
}

TEST_CASE("Makefile versions, including 2.6 stable's fourth number and -rc") {
  auto v = parse_makefile_version(
      "VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 229\nEXTRAVERSION =\nNAME = Dare mighty things\n",
      "Makefile");
  CHECK(v.str() == "5.10.229");
  v = parse_makefile_version("VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 39\nEXTRAVERSION = .4\n", "Makefile");
  CHECK(v.str() == "2.6.39.4");
  v = parse_makefile_version("# SPDX\nVERSION = 6\nPATCHLEVEL = 0\nSUBLEVEL = 0\nEXTRAVERSION = -rc1\n",
                             "Makefile");
  CHECK(v.str() == "6.0.0-rc1");
  CHECK(era_for(builtin(), v).name == "k6");
  v = parse_makefile_version("VERSION = 4\nPATCHLEVEL = 19\nSUBLEVEL = 90\nEXTRAVERSION = -custom\n",
                             "Makefile");
  CHECK(v.extra == "-custom");
  CHECK_THROWS_AS(parse_makefile_version("all:\n\techo hi\n", "Makefile"), UsageError);
}

TEST_CASE("matrix: compare_dotted takes numbers of any length (found by fuzz_version)") {
  const std::string huge(40, '2');
  CHECK(compare_dotted(huge + ".0", huge + ".0") == 0);
  CHECK(compare_dotted(huge, "2.31") > 0);
  CHECK(compare_dotted("2.31", huge) < 0);
  CHECK(compare_dotted("2.031", "2.31") == 0);
  CHECK(compare_dotted("2.0", "2.00") == 0);
  CHECK(compare_dotted("10.1", "9.1") > 0);
}

TEST_CASE("matrix: hostile Makefiles and long versions give usage errors (found by fuzz_version)") {
  const std::string mk = "VERSION = 5\nPATCHLEVEL = 10\nEXTRAVERSION = ";
  CHECK_THROWS_AS(parse_makefile_version(mk + "-rc99999999999999\n", "Makefile"), UsageError);
  auto v = parse_makefile_version(mk + ".4" + std::string(200000, 'x') + "\n", "Makefile");
  CHECK(v.str().starts_with("5.10"));
  CHECK(v.extra == std::string(200000, 'x'));
  CHECK_THROWS_AS(parse_version(std::string(100000, '5') + ".10"), UsageError);
  v = parse_makefile_version("VERSION := 6\nPATCHLEVEL=1 # comment\nSUBLEVEL =  7\r\nEXTRAVERSION = -rc2-x\n",
                             "M");
  CHECK(v.str() == "6.1.7-rc2-x");
  CHECK(v.extra == "-x");
}
