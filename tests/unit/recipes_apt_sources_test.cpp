// Unit tests for apt sources parsing and Debian mirror discovery (src/recipes/apt_sources.*):
// the one-line and deb822 formats of sources.list(5) and the choice of the main archive.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "recipes/apt_sources.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg::recipes;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// Placeholder hosts only: tests never name a real mirror.
const char* kOneLine =
    "# comment\n"
    "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.test/debian bookworm main contrib\n"
    "deb-src http://mirror.test/debian bookworm main\n"
    "deb http://security.test/debian-security bookworm-security main # trailing\n"
    "\n"
    "deb cdrom:[Debian 12]/ bookworm main\n";

const char* kDeb822 =
    "# Debian sources\n"
    "Types: deb deb-src\n"
    "URIs: http://a.test/debian/\n"
    "Suites: trixie trixie-updates\n"
    "Components: main\n"
    "Signed-By:\n"
    " -----BEGIN PGP PUBLIC KEY BLOCK-----\n"
    " .\n"
    " -----END PGP PUBLIC KEY BLOCK-----\n"
    "\n"
    "Types: deb\n"
    "URIs: http://b.test/debian-security\n"
    "Suites: trixie-security\n"
    "Components: main\n"
    "\n"
    "Enabled: no\n"
    "Types: deb\n"
    "URIs: http://c.test/debian\n"
    "Suites: sid\n"
    "Components: main\n";

}  // namespace

TEST_CASE("apt sources: one-line format") {
  auto s = parse_one_line_sources(kOneLine, "sources.list");
  REQUIRE(s.size() == 4);
  CHECK(s[0].types == std::vector<std::string>{"deb"});
  CHECK(s[0].uris == std::vector<std::string>{"http://mirror.test/debian"});
  CHECK(s[0].suites == std::vector<std::string>{"bookworm"});
  CHECK(s[0].components == std::vector<std::string>{"main", "contrib"});
  CHECK(s[2].suites == std::vector<std::string>{"bookworm-security"});
  CHECK(s[2].components == std::vector<std::string>{"main"});
  CHECK(s[3].uris == std::vector<std::string>{"cdrom:[Debian"});  // read, never picked
  CHECK(pick_debian_mirror(s) == "http://mirror.test/debian");
}

TEST_CASE("apt sources: deb822 format") {
  auto s = parse_deb822_sources(kDeb822, "debian.sources");
  REQUIRE(s.size() == 2);  // "Enabled: no" is skipped
  CHECK(s[0].types == std::vector<std::string>{"deb", "deb-src"});
  CHECK(s[0].suites == std::vector<std::string>{"trixie", "trixie-updates"});
  CHECK(pick_debian_mirror(s) == "http://a.test/debian");  // trailing slash dropped
}

TEST_CASE("apt sources: which entry is the Debian main archive") {
  auto one = [](const std::string& line) { return pick_debian_mirror(parse_one_line_sources(line, "x")); };
  CHECK_FALSE(one("deb http://s.test/debian-security bookworm-security main"));
  CHECK_FALSE(one("deb http://s.test/debian bookworm-updates main"));
  CHECK_FALSE(one("deb http://s.test/debian bookworm contrib"));
  CHECK_FALSE(one("deb-src http://s.test/debian bookworm main"));
  CHECK_FALSE(one("deb file:/srv/debian bookworm main"));
  CHECK(one("deb https://s.test/pub/linux/debian/ bookworm main") == "https://s.test/pub/linux/debian");
  // A URI ending in /debian beats another http(s) archive, whatever the order.
  CHECK(one("deb http://other.test/mirror stable main\ndeb http://s.test/debian stable main") ==
        "http://s.test/debian");
  CHECK(one("deb http://other.test/mirror stable main") == "http://other.test/mirror");
}

TEST_CASE("apt sources: files under a root, and the --debian-mirror flag") {
  ksimg::TempDir root("ksimg-apt");
  write(root / "etc/apt/sources.list", "# empty but for comments\n");
  write(root / "etc/apt/sources.list.d/debian.sources", kDeb822);
  write(root / "etc/apt/sources.list.d/z.list", "deb http://z.test/debian bookworm main\n");
  write(root / "etc/apt/sources.list.d/ignored.list.disabled", "deb http://y.test/debian bookworm main\n");
  auto all = read_apt_sources(root.path());
  CHECK(all.size() == 3);
  CHECK(discover_debian_mirror("", root.path()) == "http://a.test/debian");
  CHECK(discover_debian_mirror("https://flag.test/debian/", root.path()) == "https://flag.test/debian");
  CHECK_THROWS_AS(discover_debian_mirror("ftp://flag.test/debian", root.path()), ksimg::UsageError);
  ksimg::TempDir empty("ksimg-apt");
  CHECK_THROWS_WITH_AS(discover_debian_mirror("", empty.path()), doctest::Contains("--debian-mirror"),
                       ksimg::UsageError);
}
