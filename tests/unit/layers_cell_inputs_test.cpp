// The inputs hash behind immutable tags (layers/cell_inputs.hpp): it covers the cell's lock
// entries, its suites, SOURCE_DATE_EPOCH, the launcher and the compression profile, and nothing
// else of the lock (another cell's recipe changing must not move this cell's tag).
#include <doctest/doctest.h>

#include "layers/cell_inputs.hpp"

using namespace ksimg;

namespace {

recipes::Lock sample_lock() {
  recipes::Lock l;
  l.source_date_epoch = 1754730990;
  l.debian_suites["bullseye"] = {"oldoldstable", "bullseye", "Sat, 09 Aug 2025", std::nullopt,
                                 std::string(64, 'a')};
  l.debian_suites["trixie"] = {"stable", "trixie", "Sat, 09 Aug 2025", std::nullopt, std::string(64, 'b')};
  recipes::LockedRecipe base{"debian", "locked", std::string(64, 'c'), "bullseye", {}, {}, ""};
  base.packages.push_back(
      {"make", "4.3-4.1", "amd64", "pool/main/m/make-dfsg/make_4.3-4.1_amd64.deb", 10, std::string(64, 'd')});
  recipes::LockedRecipe tc{"debian", "locked", std::string(64, 'e'), "bullseye", {}, {}, ""};
  tc.packages.push_back(
      {"gcc-10-mipsel-linux-gnu", "10.2.1-6cross1", "amd64", "pool/x.deb", 20, std::string(64, 'f')});
  recipes::LockedRecipe other{"debian", "locked", std::string(64, '1'), "trixie", {}, {}, ""};
  l.recipes = {{"base", base}, {"tc", tc}, {"other", other}};
  return l;
}

const oci::Digest kLauncher = oci::sha256("launcher");

}  // namespace

TEST_CASE("cell inputs hash: stable, covers the cell's entries only") {
  auto l = sample_lock();
  auto h = layers::cell_inputs_sha256(l, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip);
  CHECK(h.size() == 64);
  CHECK(h == layers::cell_inputs_sha256(sample_lock(), "tc", l.source_date_epoch, kLauncher,
                                        oci::Compression::gzip));
  auto slice = layers::cell_lock_slice(l, "tc", l.source_date_epoch);
  CHECK(slice.find("gcc-10-mipsel-linux-gnu") != std::string::npos);
  CHECK(slice.find("trixie") == std::string::npos);  // neither the other recipe nor its suite

  auto l2 = sample_lock();
  l2.recipes["other"].recipe_sha256 = std::string(64, '2');  // another cell's recipe
  CHECK(layers::cell_inputs_sha256(l2, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip) == h);

  auto l3 = sample_lock();
  l3.recipes["tc"].packages[0].version = "10.2.1-6cross2";
  CHECK(layers::cell_inputs_sha256(l3, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip) != h);
  auto l4 = sample_lock();
  l4.recipes["base"].packages[0].sha256 = std::string(64, '9');
  CHECK(layers::cell_inputs_sha256(l4, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip) != h);
  auto l5 = sample_lock();
  l5.debian_suites["bullseye"].inrelease_sha256 = std::string(64, '8');
  CHECK(layers::cell_inputs_sha256(l5, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip) != h);

  CHECK(layers::cell_inputs_sha256(l, "tc", l.source_date_epoch + 1, kLauncher, oci::Compression::gzip) != h);
  CHECK(layers::cell_inputs_sha256(l, "tc", l.source_date_epoch, oci::sha256("other"),
                                   oci::Compression::gzip) != h);
  CHECK(layers::cell_inputs_sha256(l, "tc", l.source_date_epoch, kLauncher, oci::Compression::zstd) != h);
  CHECK(layers::immutable_tag("k4-mipsel", h) == "k4-mipsel-" + h.substr(0, 12));
}

TEST_CASE("cell inputs hash: per host platform, arm64 pins never move the amd64 hash") {
  auto l = sample_lock();
  auto amd64 = layers::cell_inputs_sha256(l, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip);
  auto l2 = l;
  l2.recipes["tc"].hosts["arm64"].push_back(
      {"gcc-10-mipsel-linux-gnu", "10.2.1-6cross1", "arm64", "pool/y.deb", 30, std::string(64, '9')});
  l2.recipes["base"].hosts["arm64"] = l2.recipes["base"].packages;
  CHECK(layers::cell_inputs_sha256(l2, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip) ==
        amd64);
  CHECK(layers::cell_lock_slice(l2, "tc", l.source_date_epoch).find("hosts") == std::string::npos);
  auto arm64 =
      layers::cell_inputs_sha256(l2, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip, "arm64");
  CHECK(arm64 != amd64);
  auto slice = layers::cell_lock_slice(l2, "tc", l.source_date_epoch, "arm64");
  CHECK(slice.find("pool/y.deb") != std::string::npos);
  CHECK(slice.find("pool/x.deb") == std::string::npos);
  l2.recipes["tc"].hosts["arm64"][0].sha256 = std::string(64, '8');
  CHECK(layers::cell_inputs_sha256(l2, "tc", l.source_date_epoch, kLauncher, oci::Compression::gzip,
                                   "arm64") != arm64);
}
