// Unit tests for Debian version ordering (src/recipes/deb_version.*). Every row of the table
// was checked against `dpkg --compare-versions` on Debian 12.
#include <doctest/doctest.h>

#include "recipes/deb_version.hpp"
#include "util/error.hpp"

using namespace ksimg::recipes;

namespace {
struct Row {
  const char *a, *b;
  int want;  // sign of a <=> b
};
int sign(int x) {
  return (x > 0) - (x < 0);
}
}  // namespace

TEST_CASE("dpkg version ordering matches dpkg --compare-versions") {
  const Row rows[] = {
      {"1.0", "1.0", 0},
      {"1.0", "1.1", -1},
      {"1.0", "1.0-0", 0},
      {"1.0~rc1", "1.0", -1},
      {"1.0~~", "1.0~~a", -1},
      {"1.0~~a", "1.0~", -1},
      {"1.0~", "1.0", -1},
      {"1.0", "1.0a", -1},
      {"1.0a", "1.0+", -1},
      {"1:0.1", "9.9", 1},
      {"0:1.0", "1.0", 0},
      {"1:1.0", "0:2.0", 1},
      {"1.0-1", "1.0-2", -1},
      {"1.0-1", "1.0.1-1", -1},
      {"1.0-1", "1.0-1.1", -1},
      {"1.001", "1.1", 0},
      {"1.0.a", "1.0.+", -1},
      {"7.0-1~bpo12+1", "7.0-1", -1},
      {"10.2.1-6cross1", "10.2.1-6", 1},
      {"13.3.0-12cross1", "13.3.0-6cross1", 1},
      {"2.35.2-2cross2", "2.35.2-2cross1", 1},
      {"2:6.3.0+dfsg", "2:5.0.1~", 1},
      {"1.0+b1", "1.0", 1},
      {"2.0", "10~", -1},
      {"10", "9", 1},
      {"1.2.3", "1.2.3.0", -1},
      {"1.0-a", "1.0-+", -1},
      {"1.0~a", "1.0~b", -1},
      {"1.0-0ubuntu1", "1.0-0", 1},
      {"4.9.337-1", "4.9.337-01", 0},
      {"1:2", "1:10", -1},
      {"0.0.0", "0", 1},
      {"1.0-1-2", "1.0-1-10", -1},
  };
  for (const auto& r : rows) {
    CAPTURE(r.a);
    CAPTURE(r.b);
    CHECK(sign(compare_deb_versions(r.a, r.b)) == r.want);
    CHECK(sign(compare_deb_versions(r.b, r.a)) == -r.want);
  }
}

TEST_CASE("dpkg version parsing splits epoch, upstream and revision") {
  auto v = parse_deb_version("2:6.3.0+dfsg-2.1");
  REQUIRE(v);
  CHECK(v->epoch == 2);
  CHECK(v->upstream == "6.3.0+dfsg");
  CHECK(v->revision == "2.1");
  auto h = parse_deb_version("1.0-1-2");  // the last hyphen starts the revision
  REQUIRE(h);
  CHECK(h->upstream == "1.0-1");
  CHECK(h->revision == "2");
  auto n = parse_deb_version("13.3.0");
  REQUIRE(n);
  CHECK(n->epoch == 0);
  CHECK(n->revision.empty());
}

TEST_CASE("malformed dpkg versions are rejected") {
  for (const char* bad : {"", "a1.0", "1.0 1", ":1.0", "1:", "1.0-", "x:1.0", "1.0_1", "1:a", "1:2:3-"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_deb_version(bad));
  }
  CHECK_THROWS_AS(compare_deb_versions("1.0", "not a version"), ksimg::UsageError);
}

TEST_CASE("version relations in dependency fields") {
  CHECK(version_satisfies("10.2.1-6cross1", ">=", "10.2.1-6cross1"));
  CHECK(version_satisfies("10.2.1-6cross1", "=", "10.2.1-6cross1"));
  CHECK_FALSE(version_satisfies("10.2.1-6", ">=", "10.2.1-6cross1"));
  CHECK(version_satisfies("1.0", "<<", "1.0+b1"));
  CHECK(version_satisfies("1.0", "<=", "1.0"));
  CHECK_FALSE(version_satisfies("1.0", ">>", "1.0"));
  CHECK(version_satisfies("1.0", "<", "1.0"));  // obsolete spelling of <=
  CHECK(version_satisfies("1.0", ">", "1.0"));  // obsolete spelling of >=
  CHECK_THROWS_AS(version_satisfies("1.0", "~=", "1.0"), ksimg::UsageError);
}
