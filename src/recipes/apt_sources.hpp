// Finding a Debian mirror: --debian-mirror / KSIMG_DEBIAN_MIRROR, else the host's apt
// sources (sources.list(5): the one-line format in sources.list and sources.list.d/*.list,
// the deb822 format in sources.list.d/*.sources). The mirror is never stored in the project.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::recipes {

struct AptSource {
  std::vector<std::string> types;  // "deb", "deb-src"
  std::vector<std::string> uris;
  std::vector<std::string> suites;      // "bookworm", "bookworm-security", ...
  std::vector<std::string> components;  // "main", ...
  std::string file;                     // where it was read, for messages
};

// One-line format: "deb [opt=val ...] URI SUITE [COMPONENT...]"; comments and blank lines skipped.
std::vector<AptSource> parse_one_line_sources(std::string_view text, const std::string& file);
// deb822 format: paragraphs with Types, URIs, Suites, Components; "Enabled: no" skipped.
std::vector<AptSource> parse_deb822_sources(std::string_view text, const std::string& file);

// Reads <root>/etc/apt/sources.list and <root>/etc/apt/sources.list.d/{*.list,*.sources}
// (in name order). Unreadable or malformed files are skipped with a warning.
std::vector<AptSource> read_apt_sources(const std::filesystem::path& root = "/");

// The URI of the Debian archive's main suites: a "deb" entry over http(s) with component
// main and a suite without a "-security"/"-updates"-style suffix, preferring URIs whose path
// ends in "/debian"; never a "-security" archive. No trailing slash. nullopt when none fits.
std::optional<std::string> pick_debian_mirror(const std::vector<AptSource>& sources);

// `flag` (already merged with KSIMG_DEBIAN_MIRROR by the CLI) when set, else the host's
// apt sources under `root`. Throws UsageError when neither gives an http(s) URL, naming
// the fix (--debian-mirror URL).
std::string discover_debian_mirror(const std::string& flag, const std::filesystem::path& root = "/");

}  // namespace ksimg::recipes
