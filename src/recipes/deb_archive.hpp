// Reading one suite of a Debian archive over HTTP, trusting nothing unsigned: the suite's
// InRelease is verified with gpgv, and the Packages index is checked against the SHA-256 and
// size the signed Release lists (https://wiki.debian.org/DebianRepository/Format).
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "http/transport.hpp"
#include "recipes/deb_packages.hpp"
#include "recipes/deb_release.hpp"

namespace ksimg::recipes {

struct SuiteIndex {
  std::string name;  // the suite as requested ("bullseye")
  Release release;
  std::string inrelease_sha256;             // of InRelease as served
  std::string index_path;                   // "main/binary-amd64/Packages.xz", under dists/<suite>/
  IndexEntry index;                         // its sha256 and size from the Release
  std::map<std::string, Package> packages;  // the wanted packages that exist (highest version)
};

struct ArchiveOptions {
  std::string mirror;             // archive root URL, no trailing slash (never stored)
  std::filesystem::path keyring;  // binary OpenPGP keyring for gpgv
  std::string component = "main";
  std::string arch = "amd64";  // the host architecture the toolchains run on
  int64_t now = 0;             // for Valid-Until; 0 means the current time
};

// Fetches dists/<suite>/InRelease, verifies it, checks that its Suite or Codename is `suite`
// and that it has not expired (Valid-Until), then fetches the component's Packages index
// (.xz, else .gz; by-hash when the Release offers it), verifies size and SHA-256, decompresses
// it and keeps the `wanted` packages. Throws IntegrityError for any verification failure,
// RuntimeError/NetworkError naming the URL when the mirror cannot be read.
SuiteIndex load_suite(http::Transport& t, const ArchiveOptions& o, const std::string& suite,
                      const std::set<std::string>& wanted);

}  // namespace ksimg::recipes
