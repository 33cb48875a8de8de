// Multi-platform images (image-spec image-index.md): supported platforms, the index written
// into a layout (sorted, deterministic), and picking a platform's manifest out of it.
#include <doctest/doctest.h>

#include "oci/image.hpp"
#include "oci/index.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;

namespace {

oci::Descriptor stand_in(const oci::Layout& layout, const std::string& arch) {
  oci::ImageSpec spec;
  spec.platform = {"linux", arch, ""};
  auto img = oci::assemble_image(layout, spec, {});
  img.manifest.platform = spec.platform;
  return img.manifest;
}

}  // namespace

TEST_CASE("oci index: only linux/amd64 and linux/arm64 are supported platforms") {
  CHECK(oci::parse_supported_platform("linux/amd64").str() == "linux/amd64");
  CHECK(oci::parse_supported_platform("linux/arm64/v8").str() == "linux/arm64");
  CHECK_THROWS_AS(oci::parse_supported_platform("linux/s390x"), UsageError);
  CHECK_THROWS_AS(oci::parse_supported_platform("linux/arm64/v9"), UsageError);
  CHECK_THROWS_AS(oci::parse_supported_platform("arm64"), UsageError);
  auto both = oci::parse_platform_list("linux/arm64,linux/amd64");
  REQUIRE(both.size() == 2);
  CHECK(both[0].architecture == "arm64");
  CHECK_THROWS_AS(oci::parse_platform_list("linux/amd64,linux/amd64"), UsageError);
  CHECK_THROWS_AS(oci::parse_platform_list("linux/amd64,"), UsageError);
}

TEST_CASE("oci index: entries sorted by platform, same digest in any order, platform picked") {
  oci_test::TempDir tmp;
  auto layout = oci::Layout::create(tmp / "oci");
  auto a = stand_in(layout, "amd64"), r = stand_in(layout, "arm64");
  auto i1 = oci::write_index(layout, {r, a}, 1700000000);
  auto i2 = oci::write_index(layout, {a, r}, 1700000000);
  CHECK(i1.digest == i2.digest);
  CHECK(i1.media_type == oci::media::index);
  auto kids = oci::index_manifests(layout, i1);
  REQUIRE(kids.size() == 2);
  CHECK(kids[0].digest == a.digest);
  CHECK(oci::platform_names(kids) == "linux/amd64, linux/arm64");
  CHECK(oci::select_platform(layout, i1, {"linux", "arm64", ""}, "x").digest == r.digest);
  CHECK(oci::select_platform(layout, a, {"linux", "arm64", ""}, "x").digest ==
        a.digest);  // a manifest is itself
  CHECK(oci::manifest_platform(layout, r).architecture == "arm64");
  auto only = oci::write_index(layout, {a}, 0);
  CHECK_THROWS_WITH_AS(oci::select_platform(layout, only, {"linux", "arm64", ""}, "tag t"),
                       doctest::Contains("tag t has no linux/arm64 image (it has linux/amd64)"), UsageError);
  CHECK_THROWS_AS(oci::write_index(layout, {a, a}, 0), UsageError);
  CHECK_THROWS_AS(oci::write_index(layout, {}, 0), UsageError);
}
