// Debian package versions ([epoch:]upstream[-revision]) and their ordering, as dpkg compares
// them (Debian Policy §5.6.12 "Version"), plus version relations in dependency fields
// (Policy §7.1: <<, <=, =, >=, >>).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ksimg::recipes {

struct DebVersion {
  unsigned long epoch = 0;
  std::string upstream;  // required, starts with a digit in valid versions
  std::string revision;  // empty when the version has no '-'
};

// Parses a version; nullopt when it is not one (empty, bad epoch, spaces, illegal chars).
std::optional<DebVersion> parse_deb_version(std::string_view text);

// <0, 0, >0 as dpkg --compare-versions orders them: epochs numerically, then upstream and
// revision by the Policy's algorithm ('~' sorts before anything, even the end).
int compare_deb_versions(const DebVersion& a, const DebVersion& b);
// Same for strings; throws UsageError naming a string that is not a version.
int compare_deb_versions(std::string_view a, std::string_view b);

// True when `version` satisfies "<op> <ref>" (op: <<, <=, =, >=, >>; also the obsolete < and >,
// which mean <= and >=). Throws UsageError for an unknown op.
bool version_satisfies(std::string_view version, std::string_view op, std::string_view ref);

}  // namespace ksimg::recipes
