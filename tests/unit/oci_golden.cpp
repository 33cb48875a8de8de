// Golden digests for the fixture tree of oci_fixture.hpp. Any change to the canonical tar
// (order, headers, pax use, owners, times), to the compressor profile or to the JSON form
// changes one of these and must be a deliberate, reviewed update of the constants below.
// The diff_id depends only on the tar; blob digests also pin libdeflate (1.14, level 6, 1 MiB
// slices) and libzstd (1.5.4); the manifest also pins each layer's compressor annotation.
#include <doctest/doctest.h>

#include "oci_fixture.hpp"

using namespace ksimg;

namespace {

constexpr const char* kDiffId = "sha256:33bfabd1d7c66d6718c612d5d498f00afc79d0df47f55db5226281a861b17d5f";
constexpr const char* kGzipBlob = "sha256:d6b93f7bf338298a22dd0042f754eff5d3b71ab1d5d37ef760f6faeea4a7eda6";
constexpr const char* kZstdBlob = "sha256:48d2f8c062e1c1405f6b7cfc52637b0cd2f822f4c1b12941370a19bcab72b69f";
constexpr const char* kConfigGzip = "sha256:cfeff09d67898c1277a267abd94d93cd9b6bdb266abf4bf836074fc3a9679b9c";
constexpr const char* kManifestGzip =
    "sha256:0c2ac1aa077458e7312b7e6a31f2b2e94e6e5c3d8039e5f7ad33f10d5efb605e";

}  // namespace

TEST_CASE("oci golden: fixture tree gives the pinned diff_id and gzip blob digest") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  auto d = oci_test::build_digests(t / "tree", t / "layout");
  MESSAGE("diff_id " << d.diff_id << " blob " << d.blob << " config " << d.config << " manifest "
                     << d.manifest);
  CHECK(d.diff_id == kDiffId);
  CHECK(d.blob == kGzipBlob);
}

TEST_CASE("oci golden: fixture tree gives the pinned zstd blob digest and the same diff_id") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  auto d = oci_test::build_digests(t / "tree", t / "layout", oci::Compression::zstd);
  MESSAGE("zstd blob " << d.blob);
  CHECK(d.diff_id == kDiffId);
  CHECK(d.blob == kZstdBlob);
}

TEST_CASE("oci golden: image config and manifest digests are pinned") {
  oci_test::TempDir t;
  oci_test::make_fixture(t / "tree");
  auto d = oci_test::build_digests(t / "tree", t / "layout");
  CHECK(d.config == kConfigGzip);
  CHECK(d.manifest == kManifestGzip);
}
