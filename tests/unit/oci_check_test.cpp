// `ksimg image check` (src/oci/check.cpp) and the layout's crash hygiene (src/oci/layout.cpp):
// a sound layout has no problems; a truncated, missing or mismatched blob, a tag listed twice
// and a stray file in blobs/sha256 are each found; temp files of a dead writer are listed, and
// Layout::create removes them unless a live writer still holds them (flock).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <utime.h>

#include <nlohmann/json.hpp>

#include "oci/check.hpp"
#include "oci/layout.hpp"
#include "oci_fixture.hpp"
#include "util/files.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

// An image with a config and one layer, tagged `tag`; returns the layer descriptor.
oci::Descriptor small_image(const oci::Layout& l, const std::string& tag) {
  auto config = l.put_blob("{\"tag\":\"" + tag + "\"}", oci::media::config);
  auto layer = l.put_blob("layer bytes of " + tag, oci::media::layer_gzip);
  nlohmann::json m{{"schemaVersion", 2},
                   {"mediaType", std::string(oci::media::manifest)},
                   {"config", config.to_json()},
                   {"layers", nlohmann::json::array({layer.to_json()})}};
  l.set_tag(tag, l.put_blob(oci::canonical_json(m), oci::media::manifest));
  return layer;
}

bool mentions(const oci::LayoutCheck& r, const std::string& text) {
  for (const auto& p : r.problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

void age(const fs::path& p) {
  struct utimbuf old {
    1000000000, 1000000000
  };
  ::utime(p.c_str(), &old);
}

}  // namespace

TEST_CASE("image check: a sound layout has no problems and counts what it saw") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  small_image(l, "a");
  small_image(l, "b");
  l.put_blob("unreferenced", oci::media::layer_gzip);
  auto r = oci::check_layout(l);
  CHECK(r.ok());
  CHECK(r.tags == 2);
  CHECK(r.manifests == 2);
  CHECK(r.blobs == 7);
  CHECK(r.unreferenced == 1);
}

TEST_CASE("image check: a truncated, missing or altered blob is a problem naming the tag") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  auto layer = small_image(l, "a");
  fs::path p = l.blob_path(layer.digest);
  SUBCASE("truncated") {
    fs::resize_file(p, 3);
    CHECK(mentions(oci::check_layout(l), "tag a layer 1 references " + layer.digest.str()));
  }
  SUBCASE("missing") {
    fs::remove(p);
    CHECK(mentions(oci::check_layout(l), "missing from blobs/sha256/"));
  }
  SUBCASE("altered, same size") {
    std::string bytes = files::read(p);
    bytes[0] ^= 1;
    files::write_atomic(p, bytes);
    auto r = oci::check_layout(l);
    CHECK(mentions(r, "whose bytes hash to"));
    CHECK(mentions(r, "holds bytes that hash to"));
  }
}

TEST_CASE("image check: a tag listed twice and a stray file in blobs are problems") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  small_image(l, "a");
  auto index = l.read_index();
  index["manifests"].push_back(index["manifests"][0]);
  files::write_atomic(t / "L/index.json", index.dump());
  files::write_atomic(t / "L/blobs/sha256/notes.txt", "x");
  auto r = oci::check_layout(l);
  CHECK(mentions(r, "names tag 'a' more than once"));
  CHECK(mentions(r, "blobs/sha256/notes.txt is not a blob"));
}

TEST_CASE("layout: create removes a dead writer's temp files but not a live writer's") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  fs::path dead = l.temp_dir() / "blob.tmp-1-dead";
  files::write_atomic(dead, "partial");  // written and renamed: nobody holds it any more
  age(dead);
  files::AtomicFile live(l.temp_dir() / "blob");  // holds its flock
  live.write("in progress");
  age(live.temp_path());
  CHECK(oci::check_layout(l).temp_files.size() == 2);
  CHECK(oci::check_layout(l).ok());
  oci::Layout::create(t / "L");
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(live.temp_path()));
  fs::path fresh = l.temp_dir() / "blob.tmp-2-fresh";  // too young to judge
  files::write_atomic(fresh, "x");
  oci::Layout::create(t / "L");
  CHECK(fs::exists(fresh));
}
