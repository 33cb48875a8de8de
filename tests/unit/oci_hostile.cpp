// Hostile archive input (OCI image-spec layer.md and the path attacks container tools have
// met, such as docker cp's CVE-2019-14271): absolute names, "..", hardlinks to missing
// or outside members, and members below a symlink are refused with an IntegrityError.
#include <doctest/doctest.h>

#include "oci/layer.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;

namespace {

void add_tar(const oci_test::TempDir& t, oci_test::TarBuilder& tb) {
  oci_test::write_file(t / "in.tar", tb.finish());
  oci::LayerOptions o;
  o.spool_dir = t.path;
  oci::LayerWriter w(o);
  w.add_archive_file(t / "in.tar");
}

}  // namespace

TEST_CASE("oci hostile: absolute member names are rejected") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.add("/etc/passwd", '0', "root::0:0::/:/bin/sh\n");
  CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
}

TEST_CASE("oci hostile: .. components are rejected") {
  for (const char* name : {"../escape", "a/../../escape", "a/b/..", ".."}) {
    oci_test::TempDir t;
    oci_test::TarBuilder tb;
    tb.add(name, '0', "x");
    CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
  }
}

TEST_CASE("oci hostile: pax path records cannot smuggle .. or absolute names") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.pax({{"path", "ok/../../../etc/shadow"}});
  tb.add("innocent", '0', "x");
  CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
}

TEST_CASE("oci hostile: hardlinks to missing, outside or directory targets are rejected") {
  {
    oci_test::TempDir t;
    oci_test::TarBuilder tb;
    tb.add("link", '1', "", "../../etc/shadow");
    CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
  }
  {
    oci_test::TempDir t;
    oci_test::TarBuilder tb;
    tb.add("link", '1', "", "not-there");
    CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
  }
  {
    oci_test::TempDir t;
    oci_test::TarBuilder tb;
    tb.add("dir/", '5');
    tb.add("link", '1', "", "dir");
    CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
  }
}

TEST_CASE("oci hostile: a member below a symlink of the layer is rejected") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.add("etc", '2', "", "/etc");
  tb.add("etc/cron.d/evil", '0', "* * * * * root sh\n");
  CHECK_THROWS_AS(add_tar(t, tb), IntegrityError);
}

TEST_CASE("oci hostile: a harmless archive with ./ names and a hardlink is accepted") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.add("./", '5');
  tb.add("./bin/", '5');
  tb.add("./bin/x", '0', "x", "", 0755);
  tb.add("./bin/y", '1', "", "./bin/x");
  tb.add("./abs-link", '2', "", "/usr/bin/x");  // symlink targets are data, not paths we write
  CHECK_NOTHROW(add_tar(t, tb));
}

TEST_CASE("oci hostile: a file that is not an archive is a usage error") {
  oci_test::TempDir t;
  oci_test::write_file(t / "notes.txt", "just some text, not an archive\n");
  oci::LayerWriter w;
  CHECK_THROWS_AS(w.add_path(t / "notes.txt"), UsageError);
  CHECK_THROWS_AS(w.add_path(t / "missing"), UsageError);
}
