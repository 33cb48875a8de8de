// Image assembly and inspection (image-spec config.md, manifest.md, annotations.md,
// image-layout.md): config fields, manifest annotations, and reading both back by tag.
#include <doctest/doctest.h>

#include "oci/image.hpp"
#include "oci/inspect.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

oci::LayerResult fake_layer(char c) {
  oci::LayerResult r;
  r.descriptor = {
      "application/vnd.oci.image.layer.v1.tar+gzip", oci::Digest::from_hex(std::string(64, c)), 10, {}, {}};
  r.diff_id = oci::Digest::from_hex(std::string(64, static_cast<char>(c + 1)));
  return r;
}

}  // namespace

TEST_CASE("oci image: config has platform, env, cmd, labels, rootfs, history and created") {
  auto spec = oci_test::fixture_spec();
  spec.platform = oci::Platform::parse("linux/arm/v7");
  auto j = oci::image_config_json(spec, {fake_layer('a'), fake_layer('c')});
  CHECK(j["architecture"] == "arm");
  CHECK(j["variant"] == "v7");
  CHECK(j["os"] == "linux");
  CHECK(j["created"] == "2023-11-14T22:13:20Z");
  CHECK(j["config"]["Env"] == nlohmann::json({"PATH=/usr/bin:/bin", "KSIMG_ERA=k3"}));
  CHECK(j["config"]["Cmd"] == nlohmann::json({"kbuild", "--help"}));
  CHECK(j["config"]["Labels"]["org.example.cell"] == "k3-mipsel");
  CHECK(j["rootfs"]["type"] == "layers");
  CHECK(j["rootfs"]["diff_ids"] ==
        nlohmann::json({"sha256:" + std::string(64, 'b'), "sha256:" + std::string(64, 'd')}));
  REQUIRE(j["history"].size() == 2);
  CHECK(j["history"][0]["created"] == "2023-11-14T22:13:20Z");
  CHECK_FALSE(j["config"].contains("Entrypoint"));
}

TEST_CASE("oci image: manifest annotations carry created/source/revision and omit empty ones") {
  auto spec = oci_test::fixture_spec();
  spec.annotations["org.example.extra"] = "1";
  oci::Descriptor cfg{std::string(oci::media::config), oci::sha256("{}"), 2, {}, {}};
  auto m = oci::manifest_json(spec, cfg, {fake_layer('a')});
  CHECK(m["schemaVersion"] == 2);
  CHECK(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(m["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json");
  CHECK(m["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip");
  auto& a = m["annotations"];
  CHECK(a["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z");
  CHECK(a["org.opencontainers.image.source"] == "https://example.invalid/ksimg");
  CHECK(a["org.opencontainers.image.revision"] == "0123456789abcdef");
  CHECK_FALSE(a.contains("org.opencontainers.image.version"));
  CHECK(a["org.example.extra"] == "1");
  CHECK(oci::canonical_json(m).find('\n') == std::string::npos);
  CHECK(oci::canonical_json(m).find("\"annotations\"") == 1);  // keys sorted
}

TEST_CASE("oci image: inspect reads back what was built, by tag") {
  oci_test::TempDir t;
  oci_test::write_file(t / "tree/hello", "hi\n");
  auto d = oci_test::build_digests(t / "tree", t / "L");
  auto layout = oci::Layout::open(t / "L");
  auto info = oci::inspect_image(layout, "");
  CHECK(info.tag == "golden");
  CHECK(info.manifest.digest.str() == d.manifest);
  CHECK(info.config.digest.str() == d.config);
  CHECK(info.platform.str() == "linux/amd64");
  REQUIRE(info.layers.size() == 1);
  CHECK(info.layers[0].descriptor.digest.str() == d.blob);
  CHECK(info.layers[0].diff_id == d.diff_id);
  CHECK(info.env.size() == 2);
  CHECK(info.labels.at("org.example.cell") == "k3-mipsel");
  CHECK(oci::to_json(info)["layers"][0]["diffID"] == d.diff_id);
}

TEST_CASE("oci image: an unknown tag is a usage error listing the available tags") {
  oci_test::TempDir t;
  oci_test::write_file(t / "tree/hello", "hi\n");
  oci_test::build_digests(t / "tree", t / "L");
  auto layout = oci::Layout::open(t / "L");
  try {
    oci::inspect_image(layout, "nope");
    FAIL("expected a UsageError");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("available tags: golden") != std::string::npos);
  }
}

TEST_CASE("oci image: platform parsing, rfc3339 and env validation") {
  CHECK(oci::Platform::parse("linux/amd64").str() == "linux/amd64");
  CHECK_THROWS_AS(oci::Platform::parse("amd64"), UsageError);
  CHECK_THROWS_AS(oci::Platform::parse("Linux/AMD64"), UsageError);
  CHECK_FALSE(oci::Platform::host().architecture.empty());
  CHECK(oci::rfc3339(0) == "1970-01-01T00:00:00Z");
  CHECK(oci::rfc3339(1700000000) == "2023-11-14T22:13:20Z");
  CHECK_NOTHROW(oci::validate_env("A="));
  CHECK_THROWS_AS(oci::validate_env("=x"), UsageError);
  CHECK_THROWS_AS(oci::validate_env("novalue"), UsageError);
}
