// Unit tests for the WWW-Authenticate parser (src/registry/challenge.*, RFC 9110 §11.6.1):
// registry challenges as distribution and Harbor send them, quoting and escapes, several
// challenges per header and per response, token68, and hostile inputs that must neither
// throw, loop nor grow without bound.
#include <doctest/doctest.h>

#include <string>

#include "registry/challenge.hpp"

using namespace ksimg;
using registry::parse_challenges;

TEST_CASE("challenge: distribution Bearer and Basic challenges") {
  auto cs = parse_challenges(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:ns/kernelsmith:pull,push",error="insufficient_scope")");
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].scheme == "bearer");
  CHECK(cs[0].param("realm") == "https://auth.example.com/token");
  CHECK(cs[0].param("service") == "registry.example.com");
  CHECK(cs[0].param("scope") == "repository:ns/kernelsmith:pull,push");
  CHECK(cs[0].param("error") == "insufficient_scope");
  CHECK(cs[0].param("missing").empty());

  auto b = parse_challenges(R"(Basic realm="Registry Realm")");
  REQUIRE(b.size() == 1);
  CHECK(b[0].scheme == "basic");
  CHECK(b[0].param("realm") == "Registry Realm");
  auto harbor = parse_challenges(R"(Basic realm="harbor")");
  REQUIRE(harbor.size() == 1);
  CHECK(registry::find_challenge(harbor, "BASIC").has_value());
  CHECK_FALSE(registry::find_challenge(harbor, "bearer").has_value());
}

TEST_CASE("challenge: case-insensitive scheme and names, spaces around equals, unquoted values") {
  auto cs = parse_challenges("BEARER   Realm = https://h:5000/token , SERVICE=h:5000");
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].scheme == "bearer");
  CHECK(cs[0].param("realm") == "https://h:5000/token");
  CHECK(cs[0].param("Service") == "h:5000");
}

TEST_CASE("challenge: quoted strings with escapes, commas and spaces inside quotes") {
  auto cs = parse_challenges(R"(Basic realm="a \"quoted\", \\ value with = and , signs", charset="UTF-8")");
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].param("realm") == R"(a "quoted", \ value with = and , signs)");
  CHECK(cs[0].param("charset") == "UTF-8");
  // A robot account realm value keeps '$' and '+'.
  auto r = parse_challenges(R"(Bearer realm="https://h/service/token?account=robot$p+n")");
  REQUIRE(r.size() == 1);
  CHECK(r[0].param("realm") == "https://h/service/token?account=robot$p+n");
}

TEST_CASE("challenge: several challenges in one header (the RFC 9110 example)") {
  auto cs = parse_challenges(
      R"(Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer realm="https://t/token",service="s")");
  REQUIRE(cs.size() == 3);
  CHECK(cs[0].scheme == "newauth");
  CHECK(cs[0].param("type") == "1");
  CHECK(cs[0].param("title") == R"(Login to "apps")");
  CHECK(cs[1].scheme == "basic");
  CHECK(cs[1].param("realm") == "simple");
  CHECK(cs[2].scheme == "bearer");
  CHECK(cs[2].param("service") == "s");
  auto bare = parse_challenges("Basic, Bearer realm=\"x\"");
  REQUIRE(bare.size() == 2);
  CHECK(bare[0].params.empty());
  CHECK(bare[1].param("realm") == "x");
}

TEST_CASE("challenge: token68 and schemes without params") {
  auto cs = parse_challenges("Negotiate abc+/12==, Basic realm=\"x\"");
  REQUIRE(cs.size() == 2);
  CHECK(cs[0].scheme == "negotiate");
  CHECK(cs[0].token68 == "abc+/12==");
  CHECK(cs[0].params.empty());
  CHECK(cs[1].param("realm") == "x");
  auto only = parse_challenges("Basic");
  REQUIRE(only.size() == 1);
  CHECK(only[0].scheme == "basic");
}

TEST_CASE("challenge: every WWW-Authenticate header of a response") {
  http::Response r;
  r.status = 401;
  r.headers = {{"content-type", "application/json"},
               {"www-authenticate", "Basic realm=\"harbor\""},
               {"WWW-Authenticate", "Bearer realm=\"https://h/service/token\",service=\"harbor-registry\""}};
  auto cs = registry::response_challenges(r);
  REQUIRE(cs.size() == 2);
  CHECK(cs[0].scheme == "basic");
  CHECK(registry::find_challenge(cs, "Bearer")->param("service") == "harbor-registry");
}

TEST_CASE("challenge: hostile inputs never throw and stay bounded") {
  CHECK(parse_challenges("").empty());
  CHECK(parse_challenges(" , ,,, ").empty());
  CHECK(parse_challenges("=").empty());
  CHECK(parse_challenges("\"").empty());
  CHECK(parse_challenges("@@@ ,;;; ").empty());
  // An unterminated quote ends parsing; what came before stays.
  auto u = parse_challenges(R"(Basic realm="ok", Bearer realm="unterminated, service=s)");
  REQUIRE(u.size() == 2);
  CHECK(u[0].param("realm") == "ok");
  CHECK(u[1].param("realm").empty());
  auto esc = parse_challenges("Bearer realm=\"ends with backslash\\");
  REQUIRE(esc.size() == 1);
  CHECK(esc[0].params.empty());
  // Empty values, stray equals, junk after a value, NUL bytes.
  auto e = parse_challenges("Bearer service=\"s\", realm=, =x, scope=\"a\" junk junk, error=\"e\"");
  REQUIRE(e.size() == 1);
  CHECK(e[0].params.count("realm") == 1);
  CHECK(e[0].param("realm").empty());
  CHECK(e[0].param("service") == "s");
  CHECK(e[0].param("scope") == "a");
  CHECK(e[0].param("error") == "e");
  std::string nul("Bearer realm=\"a\0b\",service=x", 27);
  auto n = parse_challenges(nul);
  REQUIRE(n.size() == 1);
  CHECK(n[0].param("realm") == std::string("a\0b", 3));
  // Duplicates: the first wins.
  CHECK(parse_challenges("Bearer realm=\"first\",realm=\"second\"")[0].param("realm") == "first");
  // Floods are capped.
  std::string many;
  for (int i = 0; i < 1000; ++i) many += "S" + std::to_string(i) + " a=b, ";
  CHECK(parse_challenges(many).size() == 32);
  std::string params = "Bearer ";
  for (int i = 0; i < 1000; ++i) params += "p" + std::to_string(i) + "=\"v\",";
  CHECK(parse_challenges(params)[0].params.size() == 64);
  CHECK(parse_challenges(std::string(1 << 20, ',')).empty());
  CHECK(parse_challenges(std::string(1 << 20, '"')).empty());
  CHECK(parse_challenges("Bearer realm=\"" + std::string(1 << 20, 'x') + "\"")[0].param("realm").size() ==
        (1 << 20));
}
