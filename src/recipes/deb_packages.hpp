// A Debian Packages index (https://wiki.debian.org/DebianRepository/Format, "Packages
// Indices"; fields per Debian Policy §5.3) and dependency relations (Policy §7.1).
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::recipes {

struct Package {
  std::string name, version, architecture;
  std::string filename;  // pool path relative to the archive root: "pool/main/g/gcc-10/..."
  uint64_t size = 0;
  std::string sha256;                                    // lowercase hex
  std::string depends, pre_depends, source, multi_arch;  // as written, folded to one line
  size_t line = 0;                                       // where the stanza starts in the index
};

// Parses a Packages index. For each package name (only those in `wanted` when it is given)
// keeps the stanza with the highest version by dpkg ordering; equal versions keep the first.
// Throws IntegrityError naming `what` and the line for malformed syntax or for a kept stanza
// that lacks Package, Version, Architecture, Filename, Size or SHA256, has an invalid version,
// a non-hex SHA256, or a Filename that is absolute or contains "..".
std::map<std::string, Package> parse_packages(std::string_view text, const std::string& what,
                                              const std::set<std::string>* wanted = nullptr);

struct Relation {
  std::string name;
  std::string arch;          // ":any", ":native" qualifier without the colon, or ""
  std::string op;            // "", "<<", "<=", "=", ">=", ">>"
  std::string version;       // with op
  std::string text() const;  // "libc6 (>= 2.34)"
};
using Alternatives = std::vector<Relation>;  // "a | b"

// Parses a Depends-style field: comma-separated clauses of '|'-separated alternatives;
// architecture lists ("[amd64]") and build profiles ("<!nocheck>") are dropped. Throws
// UsageError for malformed text.
std::vector<Alternatives> parse_relations(std::string_view field);

// True when some alternative names a package in `have` (name -> version) whose version
// satisfies the relation.
bool satisfied(const Alternatives& alt, const std::map<std::string, std::string>& have);

// "a (>= 1) | b"
std::string to_text(const Alternatives& alt);

}  // namespace ksimg::recipes
