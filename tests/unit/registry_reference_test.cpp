// Unit tests for src/registry/reference.*: image references and push destinations, and that
// each error names the bad part.
#include <doctest/doctest.h>

#include "registry/reference.hpp"
#include "util/error.hpp"

using namespace ksimg;
using registry::parse_destination;
using registry::parse_reference;

namespace {
const std::string kHex(64, 'a');
}

TEST_CASE("registry: references with host, port, path, tag and digest") {
  auto r = parse_reference("127.0.0.1:5000/ns/kernelsmith:k4-mipsel");
  CHECK(r.registry == "127.0.0.1:5000");
  CHECK(r.repository == "ns/kernelsmith");
  CHECK(r.tag == "k4-mipsel");
  CHECK_FALSE(r.digest);
  CHECK(r.manifest_ref() == "k4-mipsel");
  CHECK(r.str() == "127.0.0.1:5000/ns/kernelsmith:k4-mipsel");

  auto d = parse_reference("harbor.example.com/a/b/c:t@sha256:" + kHex);
  CHECK(d.registry == "harbor.example.com");
  CHECK(d.repository == "a/b/c");
  CHECK(d.tag == "t");
  REQUIRE(d.digest);
  CHECK(d.manifest_ref() == "sha256:" + kHex);
  CHECK(d.str() == "harbor.example.com/a/b/c:t@sha256:" + kHex);

  auto n = parse_reference("localhost/kernelsmith@sha256:" + kHex);
  CHECK(n.tag.empty());
  CHECK(n.repository == "kernelsmith");
  CHECK(parse_reference("[::1]:5000/x:1").registry == "[::1]:5000");
  CHECK(parse_reference("reg.example:443/x_y/a-b.c__d:v1.0_rc").repository == "x_y/a-b.c__d");
}

TEST_CASE("registry: bad references name the bad part") {
  CHECK_THROWS_WITH_AS(parse_reference("kernelsmith/x:k4"),
                       doctest::Contains("'kernelsmith' is not a registry host"), UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("kernelsmith:k4"), doctest::Contains("port 'k4'"), UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("docker/kernelsmith:k4"),
                       doctest::Contains("'docker' is not a registry host"), UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example:99999/x:t"), doctest::Contains("port '99999'"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example/Ns/x:t"), doctest::Contains("component 'Ns'"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example/ns//x:t"), doctest::Contains("component ''"), UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example/ns/x:-bad"), doctest::Contains("invalid tag '-bad'"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example/ns/x@sha256:abc"),
                       doctest::Contains("digest 'sha256:abc'"), UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example/ns/x"), doctest::Contains("names no tag or digest"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_reference("reg.example"), doctest::Contains("no repository name"), UsageError);
}

TEST_CASE("registry: push destinations REG and REG/NS") {
  auto d = parse_destination("127.0.0.1:5000/ns");
  CHECK(d.registry == "127.0.0.1:5000");
  CHECK(d.repository() == "ns/kernelsmith");
  CHECK(parse_destination("127.0.0.1:5000/").repository() == "kernelsmith");
  CHECK(parse_destination("harbor.example.com/team/sub").repository("x") == "team/sub/x");
  CHECK_THROWS_WITH_AS(parse_destination("https://reg.example/ns"), doctest::Contains("without scheme"),
                       UsageError);
  CHECK_THROWS_WITH_AS(parse_destination("reg.example/ns:tag"), doctest::Contains("without a tag"),
                       UsageError);
  CHECK_THROWS_AS(parse_destination("reg.example/NS"), UsageError);
  CHECK(registry::is_loopback("127.0.0.1:5000"));
  CHECK(registry::is_loopback("localhost"));
  CHECK(registry::is_loopback("[::1]:5000"));
  CHECK_FALSE(registry::is_loopback("harbor.example.com"));
}
