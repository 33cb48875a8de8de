// The canonical tar form (oci/layer.hpp; docs/images.md "Determinism"), checked member by
// member with oci::list_tar and, for pax usage, by scanning the raw 512-byte headers.
#include <doctest/doctest.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "oci/layer.hpp"
#include "oci/tar_read.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

struct Built {
  oci_test::TempDir dir;
  std::string tar;
  std::vector<oci::TarMember> members;
};

// Writes the layer's uncompressed tar and lists it.
void build(Built& b, oci::LayerWriter& w) {
  w.write_tar([&](const char* p, size_t n) { b.tar.append(p, n); });
  oci_test::write_file(b.dir / "layer.tar", b.tar);
  b.members = oci::list_tar(b.dir / "layer.tar");
}

oci::LayerOptions options(const fs::path& spool) {
  oci::LayerOptions o;
  o.source_date_epoch = oci_test::kEpoch;
  o.spool_dir = spool;
  return o;
}

const oci::TarMember& member(const Built& b, const std::string& path) {
  for (const auto& m : b.members)
    if (m.path == path) return m;
  FAIL("no member " << path);
  throw;
}

// For each member (skipping pax 'x' blocks): its typeflag and whether an 'x' header preceded it.
std::vector<std::pair<char, bool>> raw_headers(const std::string& tar) {
  std::vector<std::pair<char, bool>> out;
  bool pax = false;
  for (size_t off = 0; off + 512 <= tar.size();) {
    const char* h = tar.data() + off;
    if (std::all_of(h, h + 512, [](char c) { return c == 0; })) break;
    size_t size = std::stoull(std::string(h + 124, 11), nullptr, 8);
    if (h[156] == 'x') {
      pax = true;
    } else {
      out.emplace_back(h[156], pax);
      pax = false;
    }
    off += 512 + (size + 511) / 512 * 512;
  }
  return out;
}

// The ustar rule, independent of libarchive: a name fits when it is ASCII and either at most
// 100 bytes or splittable at a '/' into a prefix <= 155 and a non-empty name <= 100 bytes.
bool fits_ustar(const std::string& p) {
  if (std::any_of(p.begin(), p.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; }))
    return false;
  if (p.size() <= 100) return true;
  for (size_t i = 1; i < p.size(); ++i)
    if (p[i] == '/' && i <= 155 && p.size() - i - 1 <= 100 && i + 1 < p.size()) return true;
  return false;
}

}  // namespace

TEST_CASE("oci canon: members are in bytewise order, parents first, without ./ or a root entry") {
  Built b;
  oci_test::make_fixture(b.dir / "tree");
  oci::LayerWriter w(options(b.dir.path));
  w.add_directory(b.dir / "tree");
  build(b, w);
  REQUIRE(b.members.size() > 20);
  std::vector<std::string> names;
  for (const auto& m : b.members) {
    std::string p = m.path;
    if (m.type == 'd') {
      CHECK(p.back() == '/');
      p.pop_back();
    }
    CHECK(p.rfind("./", 0) != 0);
    CHECK(p.front() != '/');
    names.push_back(p);
  }
  CHECK(std::is_sorted(names.begin(), names.end()));
  std::set<std::string> seen;
  for (const auto& n : names) {
    auto slash = n.rfind('/');
    if (slash != std::string::npos) CHECK_MESSAGE(seen.count(n.substr(0, slash)), n << " before its parent");
    seen.insert(n);
  }
  CHECK(b.tar.size() % 512 == 0);
  CHECK(b.tar.substr(b.tar.size() - 1024) == std::string(1024, '\0'));
}

TEST_CASE("oci canon: owners are 0 without names, mtimes clamped, no atime or ctime") {
  Built b;
  oci_test::make_fixture(b.dir / "tree");
  oci::LayerWriter w(options(b.dir.path));
  w.add_directory(b.dir / "tree");
  build(b, w);
  for (const auto& m : b.members) {
    CHECK(m.uid == 0);
    CHECK(m.gid == 0);
    CHECK(m.uname.empty());
    CHECK(m.gname.empty());
    CHECK_FALSE(m.atime_set);
    CHECK_FALSE(m.ctime_set);
    CHECK(m.mtime == (m.path == "old.txt" ? oci_test::kOld : oci_test::kEpoch));
  }
  CHECK(member(b, "bin/suid").perm == 04755);
  CHECK(member(b, "sticky/").perm == 01777);
  CHECK(member(b, "empty/").perm == 0700);
  CHECK(member(b, "old.txt").perm == 0444);
  CHECK(member(b, "fifo").type == 'p');
  CHECK(member(b, "bin/tool-link").type == 'l');
  CHECK(member(b, "bin/tool-link").link == "tool");
}

TEST_CASE("oci canon: keep_owners keeps numeric ids and, if asked, names") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.pax({{"uid", "1234"}, {"gid", "5678"}, {"uname", "builder"}, {"gname", "staff"}});
  tb.add("f", '0', "x");
  oci_test::write_file(t / "in.tar", tb.finish());
  for (bool names : {false, true}) {
    Built b;
    auto o = options(t.path);
    o.keep_owners = true;
    o.keep_owner_names = names;
    oci::LayerWriter w(o);
    w.add_archive_file(t / "in.tar");
    build(b, w);
    CHECK(member(b, "f").uid == 1234);
    CHECK(member(b, "f").gid == 5678);
    CHECK(member(b, "f").uname == (names ? "builder" : ""));
  }
}

TEST_CASE("oci canon: hardlinks point at the bytewise-smallest name, which carries the data") {
  Built b;
  oci_test::make_fixture(b.dir / "tree");
  oci::LayerWriter w(options(b.dir.path));
  w.add_directory(b.dir / "tree");
  build(b, w);
  CHECK(member(b, "a/config-link").type == 'f');
  CHECK(member(b, "a/config-link").size == 10);
  CHECK(member(b, "etc/config").type == 'h');
  CHECK(member(b, "etc/config").link == "a/config-link");
  CHECK(member(b, "etc/hard").link == "a/config-link");
}

TEST_CASE("oci canon: pax headers only for long or non-ASCII names and xattrs") {
  Built b;
  oci_test::make_fixture(b.dir / "tree");
  oci::LayerWriter w(options(b.dir.path));
  w.add_directory(b.dir / "tree");
  build(b, w);
  auto headers = raw_headers(b.tar);
  REQUIRE(headers.size() == b.members.size());
  int pax = 0;
  for (size_t i = 0; i < headers.size(); ++i) {
    const auto& m = b.members[i];
    bool needs = !fits_ustar(m.path) || (m.type == 'l' && m.link.size() > 100) || !m.xattrs.empty();
    CHECK_MESSAGE(headers[i].second == needs, m.path);
    pax += headers[i].second;
    CHECK(headers[i].first != 'L');  // no GNU long-name records
    CHECK(headers[i].first != 'g');  // no global pax headers
  }
  CHECK(pax == 5);  // the UTF-8 name, the 255-byte name and the three deep members over 255 bytes
}

TEST_CASE("oci canon: xattrs user.* and security.capability kept and sorted, security.selinux dropped") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  const std::string cap("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  tb.pax({{"SCHILY.xattr.user.zz", "last"},
          {"SCHILY.xattr.security.selinux", "system_u:object_r:bin_t:s0"},
          {"SCHILY.xattr.security.capability", cap},
          {"SCHILY.xattr.user.aa", "first"},
          {"SCHILY.xattr.trusted.overlay.opaque", "y"}});
  tb.add("ping", '0', "bin", "", 0755);
  oci_test::write_file(t / "in.tar", tb.finish());
  Built b;
  oci::LayerWriter w(options(t.path));
  w.add_archive_file(t / "in.tar");
  build(b, w);
  const auto& x = member(b, "ping").xattrs;
  REQUIRE(x.size() == 3);
  CHECK(x[0].first == "security.capability");
  CHECK(x[0].second == cap);
  CHECK(x[1] == std::pair<std::string, std::string>{"user.aa", "first"});
  CHECK(x[2] == std::pair<std::string, std::string>{"user.zz", "last"});
  CHECK(b.tar.find("LIBARCHIVE.xattr") == std::string::npos);
  auto cap_at = b.tar.find("SCHILY.xattr.security.capability="), aa_at = b.tar.find("SCHILY.xattr.user.aa=");
  CHECK(cap_at < aa_at);  // written sorted by name
  CHECK(aa_at < b.tar.find("SCHILY.xattr.user.zz="));
}

TEST_CASE("oci canon: xattrs and device nodes from a directory walk") {
  oci_test::TempDir t;
  oci_test::write_file(t / "tree/f", "x");
  bool xattrs = ::setxattr((t / "tree/f").c_str(), "user.k", "v", 1, 0) == 0;
  bool dev = ::mknod((t / "tree/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (!xattrs) MESSAGE("this filesystem has no user xattrs; only device nodes are checked");
  if (!dev) MESSAGE("mknod is not permitted here; only xattrs are checked");
  Built b;
  oci::LayerWriter w(options(t.path));
  w.add_directory(t / "tree");
  build(b, w);
  CHECK(member(b, "f").size == 1);
  if (xattrs)
    CHECK(member(b, "f").xattrs == std::vector<std::pair<std::string, std::string>>{{"user.k", "v"}});
  if (dev) {
    CHECK(member(b, "null").type == 'c');
    CHECK(member(b, "null").rdev_major == 1);
    CHECK(member(b, "null").rdev_minor == 3);
  }
}

TEST_CASE("oci canon: later sources replace earlier entries, and prefix and strip_components place members") {
  oci_test::TempDir t;
  oci_test::write_file(t / "a/etc/x", "from a");
  oci_test::write_file(t / "a/etc/y", "only a");
  oci_test::TarBuilder tb;
  tb.add("toolchain-1.0/", '5', "", "", 0755);
  tb.add("toolchain-1.0/bin/gcc", '0', "gcc", "", 0755);
  tb.add("etc/x", '0', "from tar");
  oci_test::write_file(t / "tc.tar", tb.finish());
  Built b;
  oci::LayerWriter w(options(t.path));
  w.add_directory(t / "a");
  w.add_archive_file(t / "tc.tar", {"/opt/tc", 1, {}});
  oci_test::TarBuilder over;
  over.add("etc/x", '0', "replaced");
  oci_test::write_file(t / "over.tar", over.finish());
  w.add_archive_file(t / "over.tar");
  build(b, w);
  CHECK(member(b, "opt/tc/bin/gcc").size == 3);
  CHECK(member(b, "opt/tc/x").size == 8);  // "etc/x" minus one component
  CHECK(member(b, "etc/x").size == 8);     // "replaced"
  CHECK(member(b, "etc/y").size == 6);
  for (const auto& m : b.members) CHECK(m.path.find("toolchain-1.0") == std::string::npos);
}

TEST_CASE("oci canon: moves put a source's directory elsewhere, with its links and hardlinks") {
  oci_test::TempDir t;
  oci_test::TarBuilder tb;
  tb.add("./usr/", '5', "", "", 0755);
  tb.add("./usr/bin/", '5', "", "", 0755);
  tb.add("./usr/bin/x-ld.bfd", '0', "ld", "", 0755);
  tb.add("./usr/bin/x-ld", '2', "", "x-ld.bfd");
  tb.add("./usr/bin/x-ld.hard", '1', "", "usr/bin/x-ld.bfd");
  tb.add("./usr/binary", '0', "not under usr/bin");
  tb.add("./usr/lib/x/ldscripts/a.x", '0', "script");
  oci_test::write_file(t / "tc.tar", tb.finish());
  Built b;
  oci::LayerWriter w(options(t.path));
  oci::SourceOptions where;
  where.moves = {{"usr/bin", "/opt/tc/bin/"}, {"usr/lib/x/ldscripts", "opt/tc/lib/ldscripts"}};
  w.add_archive_file(t / "tc.tar", where);
  build(b, w);
  CHECK(member(b, "opt/tc/bin/").type == 'd');
  CHECK(member(b, "opt/tc/bin/x-ld.bfd").size == 2);
  CHECK(member(b, "opt/tc/bin/x-ld").link == "x-ld.bfd");  // relative: moved with its target
  CHECK(member(b, "opt/tc/bin/x-ld.hard").link.find("opt/tc/bin/") != std::string::npos);
  CHECK(member(b, "usr/binary").size == 17);  // a sibling with the same prefix stays
  CHECK(member(b, "opt/tc/lib/ldscripts/a.x").size == 6);
  for (const auto& m : b.members) CHECK(m.path.rfind("usr/bin/", 0) != 0);
  oci::LayerWriter bad(options(t.path));
  oci::SourceOptions escape;
  escape.moves = {{"usr/bin", "../bin"}};
  CHECK_THROWS_AS(bad.add_archive_file(t / "tc.tar", escape), UsageError);
}
