// Input size caps (src/oci/limits.hpp), sparse members and broken .debs in the layer writer
// (docs/security.md "Size" and "Archives"): parse_size and human_size, InputBudget, the
// KSIMG_MAX_MEMBER_SIZE / KSIMG_MAX_ARCHIVE_SIZE variables, a pax-sparse member written at its
// real size with its holes as zeros, and one-line errors for a garbage or truncated .deb.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <cstdio>
#include <string>

#include "oci/layer.hpp"
#include "oci/limits.hpp"
#include "oci/tar_read.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;

namespace {

// Sets an environment variable for the scope.
struct EnvVar {
  std::string name;
  EnvVar(const char* n, const char* v) : name(n) { ::setenv(n, v, 1); }
  ~EnvVar() { ::unsetenv(name.c_str()); }
};

std::string layer_tar_of(const oci_test::TempDir& t, const std::string& input, const std::string& file) {
  oci_test::write_file(t / file, input);
  oci::LayerOptions o;
  o.spool_dir = t.path;
  oci::LayerWriter w(o);
  w.add_archive_file(t / file);
  std::string out;
  w.write_tar([&](const char* p, size_t n) { out.append(p, n); });
  return out;
}

std::string ar_member(const std::string& name, const std::string& data) {
  char hdr[61];
  std::snprintf(hdr, sizeof hdr, "%-16s%-12d%-6d%-6d%-8s%-10zu`\n", name.c_str(), 0, 0, 0, "100644",
                data.size());
  return std::string(hdr, 60) + data + (data.size() % 2 ? "\n" : "");
}

std::string error_of(const oci_test::TempDir& t, const std::string& input, const std::string& file) {
  try {
    layer_tar_of(t, input, file);
  } catch (const IntegrityError& e) {
    return e.what();
  }
  return "(no IntegrityError)";
}

}  // namespace

TEST_CASE("oci limits: parse_size takes bytes with K M G T suffixes") {
  CHECK(oci::parse_size("4096", "X") == 4096);
  CHECK(oci::parse_size("1K", "X") == 1024);
  CHECK(oci::parse_size("512M", "X") == (uint64_t{512} << 20));
  CHECK(oci::parse_size("64G", "X") == (uint64_t{64} << 30));
  CHECK(oci::parse_size("2GiB", "X") == (uint64_t{2} << 30));
  CHECK(oci::parse_size("1T", "X") == (uint64_t{1} << 40));
  for (const char* bad : {"", "0", "-1", "G", "12Q", "1.5G", "99999999999999999999", "20000000000T", "1G "})
    CHECK_THROWS_AS(oci::parse_size(bad, "KSIMG_MAX_MEMBER_SIZE"), UsageError);
  CHECK(oci::human_size(512) == "512 bytes");
  CHECK(oci::human_size(uint64_t{64} << 30) == "64 GiB");
  CHECK(oci::human_size(3 << 19) == "1.5 MiB");
}

TEST_CASE("oci limits: the budget refuses a member or an archive over its cap") {
  oci::InputBudget b("in.tar", {1000, 1500});
  b.start("a", 800);
  b.add(800);
  CHECK_THROWS_WITH_AS(b.start("b", 800), doctest::Contains("KSIMG_MAX_ARCHIVE_SIZE"), IntegrityError);
  oci::InputBudget m("in.tar", {1000, 5000});
  CHECK_THROWS_WITH_AS(m.start("big", 1001),
                       doctest::Contains("member 'big' is larger than the 1000 bytes cap"), IntegrityError);
  m.start("undeclared", -1);
  CHECK_THROWS_AS(m.add(1001), IntegrityError);  // counted as read even without a declared size
}

TEST_CASE("oci limits: the environment sets the caps for the layer writer") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.add("two-k", '0', std::string(2048, 'x'));
  std::string tar = tb.finish();
  {
    EnvVar v("KSIMG_MAX_MEMBER_SIZE", "1K");
    CHECK(error_of(t, tar, "in.tar").find("KSIMG_MAX_MEMBER_SIZE=SIZE") != std::string::npos);
  }
  {
    EnvVar v("KSIMG_MAX_ARCHIVE_SIZE", "junk");
    CHECK_THROWS_AS(layer_tar_of(t, tar, "in.tar"), UsageError);
  }
  CHECK_NOTHROW(layer_tar_of(t, tar, "in.tar"));
}

TEST_CASE("oci limits: a sparse member becomes a file of its real size with zeros for holes") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  // pax GNU sparse 0.1: 4 data bytes at offset 4096 of a 1 MiB file (the rest, also the end, is holes)
  tb.pax({{"GNU.sparse.size", "1048576"}, {"GNU.sparse.numblocks", "1"}, {"GNU.sparse.map", "4096,4"}});
  tb.add("holey", '0', "abcd");
  std::string out = layer_tar_of(t, tb.finish(), "in.tar");
  oci_test::write_file(t / "out.tar", out);
  auto members = oci::list_tar(t / "out.tar");
  REQUIRE(members.size() == 1);
  CHECK(members[0].path == "holey");
  CHECK(members[0].size == 1048576);
  auto data = out.find("abcd");
  REQUIRE(data != std::string::npos);
  CHECK(out.substr(data - 4096, 4096) == std::string(4096, '\0'));
  CHECK(out.substr(data + 4, 1048576 - 4100) == std::string(1048576 - 4100, '\0'));
}

TEST_CASE("oci limits: a .deb with garbage after the ar magic is an error, not an empty layer") {
  oci_test::TempDir t;
  std::string msg = error_of(t, "!<arch>\nthis is not an ar member header\n", "bad.deb");
  CHECK(msg.find("bad.deb starts like a .deb") != std::string::npos);
  CHECK(msg.find("truncated or corrupt") != std::string::npos);
}

TEST_CASE("oci limits: a truncated .deb names its data.tar and says truncated") {
  oci_test::TempDir t;
  oci_test::TarBuilder ctrl, data;
  ctrl.add("./control", '0', "Package: x\nVersion: 1\nArchitecture: all\n");
  data.add("./usr/bin/x", '0', std::string(4000, 'x'));
  std::string deb = "!<arch>\n" + ar_member("debian-binary", "2.0\n") +
                    ar_member("control.tar", ctrl.finish()) + ar_member("data.tar", data.finish());
  std::string msg = error_of(t, deb.substr(0, deb.size() - 3000), "cut.deb");
  CHECK(msg.find("cut.deb:data.tar is truncated or corrupt") != std::string::npos);
  CHECK(msg.find("unknown libarchive error") == std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
}
