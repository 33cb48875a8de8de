// Whiteouts (OCI image-spec layer.md "Whiteouts"): ".wh.<name>" next to the removed entry and
// ".wh..wh..opq" inside an opaque directory, as empty regular files.
#include <doctest/doctest.h>

#include "oci/layer.hpp"
#include "oci/tar_read.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;

namespace {

std::vector<oci::TarMember> members_of(const oci::LayerWriter& w, const oci_test::TempDir& t) {
  std::string tar;
  w.write_tar([&](const char* p, size_t n) { tar.append(p, n); });
  oci_test::write_file(t / "l.tar", tar);
  return oci::list_tar(t / "l.tar");
}

}  // namespace

TEST_CASE("oci whiteout: add_whiteout writes .wh.<name> in the parent directory") {
  oci_test::TempDir t;
  oci::LayerOptions o;
  o.source_date_epoch = 42;
  oci::LayerWriter w(o);
  w.add_whiteout("/etc/removed.conf");
  w.add_whiteout("toplevel");
  auto m = members_of(w, t);
  REQUIRE(m.size() == 2);
  CHECK(m[0].path == ".wh.toplevel");
  CHECK(m[1].path == "etc/.wh.removed.conf");
  for (const auto& e : m) {
    CHECK(e.type == 'f');
    CHECK(e.size == 0);
    CHECK(e.mtime == 42);
  }
}

TEST_CASE("oci whiteout: opaque whiteout writes .wh..wh..opq and coexists with new entries") {
  oci_test::TempDir t;
  oci_test::write_file(t / "tree/usr/share/doc/new.txt", "new");
  oci::LayerWriter w;
  w.add_directory(t / "tree");
  w.add_opaque_whiteout("usr/share/doc");
  auto m = members_of(w, t);
  std::vector<std::string> names;
  for (const auto& e : m) names.push_back(e.path);
  CHECK(names == std::vector<std::string>{"usr/", "usr/share/", "usr/share/doc/",
                                          "usr/share/doc/.wh..wh..opq", "usr/share/doc/new.txt"});
}

TEST_CASE("oci whiteout: bad whiteout paths are usage errors") {
  oci::LayerWriter w;
  CHECK_THROWS_AS(w.add_whiteout(""), UsageError);
  CHECK_THROWS_AS(w.add_whiteout("/"), UsageError);
  CHECK_THROWS_AS(w.add_whiteout("a/../b"), UsageError);
  CHECK_THROWS_AS(w.add_whiteout(".wh.x"), UsageError);
  CHECK_THROWS_AS(w.add_whiteout(std::string("a\0b", 3)), UsageError);
  CHECK_THROWS_AS(w.add_opaque_whiteout(""), UsageError);
  CHECK(w.entry_count() == 0);
}
