// Unit tests for the readers added for toolchain layers in src/oci: extract_archive (safe
// unpacking with the top directory stripped; hostile members refused), read_deb_control (a
// .deb built here with dpkg-deb) and scan_tar (members with their data).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "oci/deb.hpp"
#include "oci/extract.hpp"
#include "oci/tar_scan.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"
#include "util/subprocess.hpp"

using namespace ksimg;
using oci_test::TarBuilder;
namespace fs = std::filesystem;

namespace {

fs::path write_tar(const fs::path& dir, const std::string& name, TarBuilder& b) {
  fs::path p = dir / name;
  oci_test::write_file(p, b.finish());
  return p;
}

void expect_refused(const std::string& what, TarBuilder b, const std::string& message) {
  oci_test::TempDir t;
  fs::path tar = write_tar(t.path, "x.tar", b);
  fs::create_directories(t / "dest");
  CAPTURE(what);
  CHECK_THROWS_WITH_AS(oci::extract_archive(tar, t / "dest", {.strip_top_dir = true, .progress_label = {}}),
                       doctest::Contains(message.c_str()), IntegrityError);
  CHECK_FALSE(fs::exists(t / "evil"));
  CHECK_FALSE(fs::exists(t.path.parent_path() / "evil-ksimg-extract-test"));
}

}  // namespace

TEST_CASE("oci extract: strips the top directory, keeps modes, links and times, drops setuid") {
  oci_test::TempDir t;
  TarBuilder b;
  b.add("sdk-1.0/", '5', "", "", 0755);
  b.add("sdk-1.0/bin/", '5', "", "", 0755);
  b.add("sdk-1.0/bin/tool", '0', "#!/bin/sh\n", "", 04755);
  b.add("sdk-1.0/bin/alias", '2', "", "tool", 0777);
  b.add("sdk-1.0/bin/hard", '1', "", "sdk-1.0/bin/tool", 0755);
  b.add("./sdk-1.0/share/doc.txt", '0', "doc\n");
  fs::path tar = write_tar(t.path, "sdk.tar", b);
  fs::create_directories(t / "dest");
  auto r = oci::extract_archive(tar, t / "dest", {.strip_top_dir = true, .progress_label = {}});
  CHECK(r.top_dir == "sdk-1.0");
  CHECK(r.entries == 5);
  CHECK(oci_test::read_file(t / "dest/bin/tool") == "#!/bin/sh\n");
  CHECK((fs::status(t / "dest/bin/tool").permissions() & fs::perms::all) == static_cast<fs::perms>(0755));
  CHECK((fs::status(t / "dest/bin/tool").permissions() & fs::perms::set_uid) == fs::perms::none);
  CHECK(fs::read_symlink(t / "dest/bin/alias") == "tool");
  CHECK(fs::hard_link_count(t / "dest/bin/tool") == 2);
  CHECK(oci_test::read_file(t / "dest/share/doc.txt") == "doc\n");
}

TEST_CASE("oci extract: hostile members are refused") {
  TarBuilder dotdot;
  dotdot.add("top/", '5');
  dotdot.add("top/../../evil", '0', "x");
  expect_refused("dotdot", dotdot, "climbs out");
  TarBuilder abs;
  abs.add("/top/evil", '0', "x");
  expect_refused("absolute", abs, "absolute");
  TarBuilder two;
  two.add("top/a", '0', "x");
  two.add("other/b", '0', "x");
  expect_refused("two tops", two, "more than one top-level entry");
  TarBuilder file_top;
  file_top.add("README", '0', "x");
  expect_refused("a file at the top", file_top, "more than one top-level entry");
  TarBuilder dev;
  dev.add("top/", '5');
  dev.add("top/null", '3');
  expect_refused("device", dev, "device node");
  TarBuilder through;  // a symlink out of the tree, then a file written through it
  through.add("top/", '5');
  through.add("top/link", '2', "", "../../", 0777);
  through.add("top/link/evil-ksimg-extract-test", '0', "x");
  expect_refused("through a symlink", through, "cannot unpack 'top/link/evil-ksimg-extract-test'");
}

TEST_CASE("oci deb: the control paragraph, md5sums and data members of a .deb") {
  auto dpkg_deb = subprocess::find_program("dpkg-deb");
  REQUIRE_MESSAGE(dpkg_deb.has_value(), "dpkg-deb builds the .deb fixture");
  oci_test::TempDir t;
  oci_test::write_file(t / "pkg/DEBIAN/control",
                       "Package: ksimg-test\nVersion: 1.2-3\nArchitecture: all\nMaintainer: t <t@t>\n"
                       "Description: test\n fixture\n");
  oci_test::write_file(t / "pkg/DEBIAN/md5sums", "0123  usr/bin/tool\n");
  oci_test::write_file(t / "pkg/usr/bin/tool", "#!/bin/sh\n", 0755);
  fs::create_symlink("tool", t / "pkg/usr/bin/tool-1");
  auto r = subprocess::run({dpkg_deb->string(), "--root-owner-group", "-Zxz", "--build", (t / "pkg").string(),
                            (t / "x.deb").string()});
  REQUIRE_MESSAGE(r.ok(), r.err);
  auto deb = oci::read_deb_control(t / "x.deb", true);
  CHECK(deb.control.find("Package: ksimg-test\n") == 0);
  CHECK(deb.control.find("Version: 1.2-3\n") != std::string::npos);
  REQUIRE(deb.md5sums.has_value());
  CHECK(*deb.md5sums == "0123  usr/bin/tool\n");
  bool tool = false, link = false;
  for (const auto& m : deb.data) {
    tool = tool || (m.path == "usr/bin/tool" && m.type == 'f');
    link = link || (m.path == "usr/bin/tool-1" && m.type == 'l' && m.link == "tool");
  }
  CHECK(tool);
  CHECK(link);
  CHECK(oci::read_deb_control(t / "x.deb").data.empty());  // not listed unless asked
  oci_test::write_file(t / "not.deb", "!<arch>\nnonsense");
  CHECK_THROWS_AS(oci::read_deb_control(t / "not.deb"), IntegrityError);
}

TEST_CASE("oci scan_tar: members in order, with their data on demand") {
  oci_test::TempDir t;
  TarBuilder b;
  b.add("a/", '5');
  b.add("a/big", '0', std::string(70000, 'q'));
  b.add("a/small", '0', "hello");
  b.add("a/link", '2', "", "small", 0777);
  fs::path tar = write_tar(t.path, "x.tar", b);
  std::vector<std::string> seen;
  std::string small, head;
  oci::scan_tar(tar, [&](const oci::TarMember& m, oci::MemberData& data) {
    seen.push_back(m.path + ":" + m.type);
    if (m.path == "a/big") head = data.read(10);  // the rest is skipped
    if (m.path == "a/small") small = data.read(1 << 20);
    if (m.type == 'l') CHECK(m.link == "small");
  });
  CHECK(seen == std::vector<std::string>{"a/:d", "a/big:f", "a/small:f", "a/link:l"});
  CHECK(head == std::string(10, 'q'));
  CHECK(small == "hello");
  oci_test::write_file(t / "bad.tar.gz", "\x1f\x8b garbage");
  CHECK_THROWS_AS(oci::scan_tar(t / "bad.tar.gz", [](const oci::TarMember&, oci::MemberData&) {}),
                  IntegrityError);
}
