// The SBOM of a cell image describes the image of one host platform: the linux/arm64 image of a
// Debian cell lists the arm64 builds the lock pins for it (same names and versions as amd64,
// other hashes), says which platform it is, and a toolchain without an arm64 build has no such
// image to describe. Checked against the committed lock and data.
#include <doctest/doctest.h>

#include "layers/sbom.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "recipes/lock.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

using namespace ksimg;

namespace {

nlohmann::ordered_json sbom_of(const recipes::Lock& lock, const std::string& cell, const std::string& arch) {
  const auto& m = matrix::get(std::string(KSIMG_SRC_DIR));
  auto c = matrix::resolve_cell(m, cell);
  layers::SbomInput in{c.cell, c.recipe, c.image_tag, &lock, "", "", "test", arch};
  return layers::cyclonedx_sbom(in);
}

std::string purl_of(const nlohmann::ordered_json& doc, const std::string& name) {
  for (const auto& c : doc["components"])
    if (c["name"] == name) return c["purl"];
  return "";
}

std::string platform_of(const nlohmann::ordered_json& doc) {
  for (const auto& p : doc["metadata"]["component"]["properties"])
    if (p["name"] == "ksimg:platform") return p["value"];
  return "";
}

}  // namespace

TEST_CASE(
    "sbom: the linux/arm64 image of a Debian cell lists the arm64 pins, and no arm64 image has no SBOM") {
  auto lock =
      recipes::parse_lock(files::read(std::string(KSIMG_SRC_DIR) + "/ksimg.lock.json"), "ksimg.lock.json");
  auto amd = sbom_of(lock, "k6/mipsel", "amd64");
  auto arm = sbom_of(lock, "k6/mipsel", "arm64");
  CHECK(platform_of(amd) == "linux/amd64");
  CHECK(platform_of(arm) == "linux/arm64");
  std::string a = purl_of(amd, "gcc-13-mipsel-linux-gnu"), b = purl_of(arm, "gcc-13-mipsel-linux-gnu");
  CHECK(a.find("?arch=amd64&distro=debian-13") != std::string::npos);
  CHECK(b.find("?arch=arm64&distro=debian-13") != std::string::npos);
  CHECK(a.substr(0, a.find('?')) == b.substr(0, b.find('?')));  // the same version on both hosts
  const auto& r = lock.recipes.at("debian-trixie-gcc13-mipsel");
  CHECK(arm["components"].size() ==
        lock.recipes.at("base").packages_for("arm64").size() + r.packages_for("arm64").size() + 1);
  CHECK(amd["serialNumber"] != arm["serialNumber"]);
  CHECK_THROWS_AS(sbom_of(lock, "k3/mipsel", "arm64"), UsageError);  // a Bootlin tarball: x86_64 only
  recipes::Lock no_arm = lock;
  no_arm.recipes.at("debian-trixie-gcc13-mipsel").hosts.clear();
  CHECK_THROWS_WITH_AS(sbom_of(no_arm, "k6/mipsel", "arm64"), doctest::Contains("no arm64 pins"), UsageError);
}
