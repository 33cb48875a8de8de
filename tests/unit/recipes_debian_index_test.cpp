// Unit tests for the Debian index readers (src/recipes/deb_control.*, deb_release.*,
// deb_packages.*, and oci::decompress_file): control syntax, Release fields and dates,
// Packages stanzas and relations, compressed indexes.
#include <doctest/doctest.h>

#include <string>

#include "oci/peek.hpp"
#include "recipes/deb_control.hpp"
#include "recipes/deb_packages.hpp"
#include "recipes/deb_release.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg::recipes;

namespace {

template <class E, class F>
std::string thrown(F f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("expected an exception");
  return {};
}

const std::string kHexA(64, 'a');
const std::string kHexB(64, 'b');

const std::string kRelease =
    "Origin: Debian\n"
    "Label: Debian\n"
    "Suite: oldoldstable\n"
    "Codename: bullseye\n"
    "Date: Sat, 09 Aug 2025 09:16:30 UTC\n"
    "Valid-Until: Sat, 16 Aug 2025 09:16:30 UTC\n"
    "Acquire-By-Hash: yes\n"
    "Architectures: all amd64 arm64\n"
    "Components: main contrib\n"
    "MD5Sum:\n"
    " 3f295870f9fb53bfa40657056f49ab67  8065948 main/binary-amd64/Packages.xz\n"
    "SHA256:\n"
    " " +
    kHexA +
    " 45561367 main/binary-amd64/Packages\n"
    " " +
    kHexB + "  8065948 main/binary-amd64/Packages.xz\n";

}  // namespace

TEST_CASE("Release: fields, dates and the SHA256 list") {
  Release r = parse_release(kRelease, "InRelease");
  CHECK(r.suite == "oldoldstable");
  CHECK(r.codename == "bullseye");
  CHECK(r.date == "Sat, 09 Aug 2025 09:16:30 UTC");
  CHECK(r.date_epoch == 1754730990);
  REQUIRE(r.valid_until);
  CHECK(*r.valid_until_epoch == 1754730990 + 7 * 86400);
  CHECK(r.acquire_by_hash);
  CHECK(r.architectures == std::vector<std::string>{"all", "amd64", "arm64"});
  CHECK(r.components == std::vector<std::string>{"main", "contrib"});
  REQUIRE(r.sha256.size() == 2);
  CHECK(r.sha256.at("main/binary-amd64/Packages.xz").sha256 == kHexB);
  CHECK(r.sha256.at("main/binary-amd64/Packages.xz").size == 8065948);
  CHECK(r.sha256.at("main/binary-amd64/Packages").size == 45561367);
}

TEST_CASE("Release: CRLF line ends and upper-case digests are accepted") {
  std::string crlf;
  for (char c : kRelease) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::string upper = crlf;
  auto at = upper.find(kHexB);
  upper.replace(at, 64, std::string(64, 'B'));
  Release r = parse_release(upper, "InRelease");
  CHECK(r.codename == "bullseye");
  CHECK(r.sha256.at("main/binary-amd64/Packages.xz").sha256 == kHexB);
}

TEST_CASE("Release: missing or malformed required fields are integrity errors") {
  auto without = [](const std::string& field) {
    std::string t = kRelease;
    auto at = t.find(field + ":");
    return t.erase(at, t.find('\n', at) - at + 1);
  };
  CHECK(thrown<ksimg::IntegrityError>([&] { parse_release(without("Date"), "X"); }).find("Date") !=
        std::string::npos);
  std::string no_sha = kRelease.substr(0, kRelease.find("SHA256:"));
  CHECK(thrown<ksimg::IntegrityError>([&] { parse_release(no_sha, "X"); }).find("SHA256") !=
        std::string::npos);
  std::string no_names = without("Suite");
  no_names = no_names.erase(no_names.find("Codename:"), std::string("Codename: bullseye\n").size());
  CHECK_THROWS_AS(parse_release(no_names, "X"), ksimg::IntegrityError);
  CHECK_THROWS_AS(parse_release(kRelease + " nothex 12 main/x\n", "X"), ksimg::IntegrityError);
  CHECK_THROWS_AS(parse_release("Suite: x\nDate: yesterday\nSHA256:\n", "X"), ksimg::IntegrityError);
  CHECK_THROWS_AS(parse_release("", "X"), ksimg::IntegrityError);
}

TEST_CASE("Release dates: RFC 2822 forms Debian writes") {
  CHECK(parse_release_date("Sat, 21 Nov 2026 09:15:44 UTC") == 1795252544);
  CHECK(parse_release_date("21 Nov 2026 09:15:44 UTC") == 1795252544);
  CHECK(parse_release_date("Sat, 21 Nov 2026 10:15:44 +0100") == 1795252544);
  CHECK(parse_release_date("Sat, 21 Nov 2026 08:15:44 -0100") == 1795252544);
  CHECK(parse_release_date("Thu, 29 Feb 2024 23:59:59 GMT") == 1709251199);
  CHECK(parse_release_date("Sat, 1 Jan 2000 00:00:00 UTC") == 946684800);
  for (const char* bad :
       {"", "yesterday", "Sat, 30 Feb 2024 00:00:00 UTC", "Sat, 21 Nov 2026 25:00:00 UTC",
        "Sat, 21 Foo 2026 09:15:44 UTC", "Sat, 21 Nov 2026 09:15:44 CEST", "21 Nov 26 09:15:44 UTC"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_release_date(bad));
  }
}

TEST_CASE("control syntax: continuation lines, separators, comments, errors") {
  auto ps = parse_paragraphs("A: 1\nB: first\n second\n\tthird\n \t \nC: x\r\n\r\n\n", false);
  REQUIRE(ps.size() == 2);
  CHECK(ps[0].folded("b") == "first second third");
  CHECK(ps[0].lines("B") == std::vector<std::string_view>{"second", "third"});
  CHECK(ps[1].line == 6);
  CHECK(ps[1].folded("C") == "x");
  CHECK(parse_paragraphs("# note\nTypes: deb\n# inside\nURIs: u\n", true).at(0).folded("URIs") == "u");
  CHECK_THROWS_AS(parse_paragraphs("A: 1\nA: 2\n"), ControlError);
  CHECK_THROWS_AS(parse_paragraphs(" continuation first\n"), ControlError);
  CHECK_THROWS_AS(parse_paragraphs("no colon here\n"), ControlError);
}

namespace {

std::string stanza(const std::string& name, const std::string& version, const std::string& extra = "") {
  return "Package: " + name + "\nVersion: " + version + "\nArchitecture: amd64\n" + extra +
         "Filename: pool/main/" + name.substr(0, 1) + "/" + name + "/" + name + "_" + version +
         "_amd64.deb\n" + "Size: 1234\nSHA256: " + kHexA + "\nDescription: test\n  more text\n .\n  end\n\n";
}

}  // namespace

TEST_CASE("Packages: the highest version of a duplicated package wins") {
  std::string text = stanza("gcc-10", "10.2.1-6") + stanza("gcc-10", "1:1.0") +
                     stanza("gcc-10", "10.2.1-6cross1") + stanza("binutils", "2.35.2-2") +
                     stanza("binutils", "2.35.2-2~bpo1");
  auto pk = parse_packages(text, "Packages");
  REQUIRE(pk.size() == 2);
  CHECK(pk.at("gcc-10").version == "1:1.0");  // the epoch outranks everything
  CHECK(pk.at("binutils").version == "2.35.2-2");
  CHECK(pk.at("binutils").filename == "pool/main/b/binutils/binutils_2.35.2-2_amd64.deb");
  CHECK(pk.at("binutils").size == 1234);
  CHECK(pk.at("binutils").sha256 == kHexA);
}

TEST_CASE("Packages: folded Depends, CRLF, filtering, optional fields") {
  std::string text = stanza("cpp-10", "10.2.1-6",
                            "Source: gcc-10 (10.2.1-6)\nMulti-Arch: foreign\nPre-Depends: dpkg (>= 1.15)\n"
                            "Depends: gcc-10-base (= 10.2.1-6),\n libc6 (>= 2.14) | libc6.1,\n zlib1g\n") +
                     stanza("other", "1.0");
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::set<std::string> wanted{"cpp-10"};
  auto pk = parse_packages(crlf, "Packages", &wanted);
  REQUIRE(pk.size() == 1);
  const Package& p = pk.at("cpp-10");
  CHECK(p.depends == "gcc-10-base (= 10.2.1-6), libc6 (>= 2.14) | libc6.1, zlib1g");
  CHECK(p.pre_depends == "dpkg (>= 1.15)");
  CHECK(p.source == "gcc-10 (10.2.1-6)");
  CHECK(p.multi_arch == "foreign");
  CHECK(p.line == 1);
  CHECK(parse_packages("", "Packages").empty());
  CHECK(parse_packages(stanza("a1", "1").substr(0, stanza("a1", "1").size() - 2), "P").size() ==
        1);  // no final newline
}

TEST_CASE("Packages: malformed stanzas are integrity errors naming the line") {
  auto bad = [](const std::string& text) {
    return thrown<ksimg::IntegrityError>([&] { parse_packages(text, "P"); });
  };
  std::string ok = stanza("a1", "1.0");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string t = ok;
    return t.replace(t.find(from), from.size(), to);
  };
  CHECK(bad(ok + replace("Size: 1234\n", "")).find("P line 12 (package a1): no Size") != std::string::npos);
  CHECK(bad(replace("Version: 1.0", "Version: x.y")).find("invalid Version") != std::string::npos);
  CHECK(bad(replace(kHexA, "abc")).find("SHA256") != std::string::npos);
  CHECK(bad(replace("Filename: pool", "Filename: /pool")).find("relative pool path") != std::string::npos);
  CHECK(bad(replace("Filename: pool/main", "Filename: pool/../../etc")).find("relative") !=
        std::string::npos);
  CHECK(bad(replace("Size: 1234", "Size: -1")).find("Size") != std::string::npos);
  CHECK(bad("Version: 1\n\n").find("without a Package") != std::string::npos);
  CHECK(bad("Package: a\nbroken line\n").find("P line 2") != std::string::npos);
}

TEST_CASE("dependency relations: alternatives, versions, qualifiers, restrictions") {
  auto rel = parse_relations(
      "libc6 (>= 2.14), gcc-10-base (= 10.2.1-6) | gcc-base, python3:any, "
      "foo [amd64] <!nocheck>, bar(<<2)");
  REQUIRE(rel.size() == 5);
  CHECK(rel[0][0].name == "libc6");
  CHECK(rel[0][0].op == ">=");
  CHECK(rel[0][0].version == "2.14");
  CHECK(rel[1].size() == 2);
  CHECK(to_text(rel[1]) == "gcc-10-base (= 10.2.1-6) | gcc-base");
  CHECK(rel[2][0].arch == "any");
  CHECK(rel[3][0].text() == "foo");
  CHECK(rel[4][0].text() == "bar (<< 2)");
  std::map<std::string, std::string> have{{"libc6", "2.36-9"}, {"gcc-base", "1"}, {"bar", "2"}};
  CHECK(satisfied(rel[0], have));
  CHECK(satisfied(rel[1], have));  // through the alternative
  CHECK_FALSE(satisfied(rel[2], have));
  CHECK_FALSE(satisfied(rel[4], have));  // 2 is not << 2
  CHECK(parse_relations("").empty());
  CHECK_THROWS_AS(parse_relations("a (>= )"), ksimg::UsageError);
  CHECK_THROWS_AS(parse_relations("a (~ 1)"), ksimg::UsageError);
  CHECK_THROWS_AS(parse_relations("a b"), ksimg::UsageError);
}

TEST_CASE("Packages indexes decompress whatever their filter: xz, gzip, none") {
  ksimg::TempDir dir("ksimg-idx");
  std::string text = stanza("gcc-10", "10.2.1-6");
  ksimg::files::write_atomic(dir / "Packages", text);
  for (const char* tool : {"xz", "gzip"}) {
    ksimg::subprocess::Options o;
    o.input = text;
    auto r = ksimg::subprocess::run({tool, "-c"}, o);
    REQUIRE(r.ok());
    ksimg::files::write_atomic(dir / tool, r.out);
    CHECK(ksimg::oci::decompress_file(dir / tool, 1 << 20) == text);
  }
  CHECK(ksimg::oci::decompress_file(dir / "Packages", 1 << 20) == text);
  CHECK_THROWS_AS(ksimg::oci::decompress_file(dir / "xz", 10), ksimg::IntegrityError);
  std::string broken = ksimg::files::read(dir / "xz");
  broken[broken.size() / 2] = static_cast<char>(broken[broken.size() / 2] ^ 0x55);
  ksimg::files::write_atomic(dir / "broken.xz", broken);
  CHECK_THROWS_AS(ksimg::oci::decompress_file(dir / "broken.xz", 1 << 20), ksimg::IntegrityError);
}
