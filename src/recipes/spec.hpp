// The kind-specific part of each recipe (recipes/README.md: kinds debian, tarball, script),
// validated in depth. matrix::load checks the common keys; this checks the rest.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "matrix/data.hpp"

namespace ksimg::recipes {

struct DebianSpec {
  std::string suite;                  // "bullseye"
  std::vector<std::string> packages;  // binary package names, as listed
  // Optional, absolute below /opt: the packages' /usr/bin (and ld's ldscripts) go there, not
  // over the base's files of the same name (the native x86_64 binutils); empty: in place.
  std::string install_dir;
  // hosts.arm64: the packages (and install_dir) an arm64 host installs; `packages` above are
  // the amd64 host's. nullopt: no arm64 build (arm64_unavailable says why, when the recipe does).
  struct Host {
    std::vector<std::string> packages;
    std::string install_dir;
  };
  std::optional<Host> arm64 = {};
  std::string arm64_unavailable = {};
  // The spec an `arch` host ("amd64", "arm64") installs; UsageError when it has none.
  DebianSpec for_host(const std::string& arch, const std::string& recipe) const;
};

struct TarballSpec {
  std::vector<std::string> urls;  // tried in order
  std::string sha256;             // lowercase hex
  std::string release, install_dir, relocate;
};

struct ScriptInput {
  std::string name;                   // file name under /inputs ("gcc-4.4.7.tar.bz2")
  std::vector<std::string> urls;      // tried in order
  std::optional<std::string> sha256;  // lowercase hex of the bytes; nullopt: not pinned by bytes
  std::string nar_sha256;             // "sha256-<base64>": NAR hash of the unpacked tree; "" = none
};

struct ScriptSpec {
  std::string builder;                     // "kernel-only" | "musl-cross-make"
  std::vector<ScriptInput> inputs;         // every source tarball the build reads
  std::vector<std::string> steps;          // the build script's lines; empty: the builder's template
  std::string install_dir;                 // absolute, below /opt
  std::vector<std::string> gcc_configure;  // extra gcc configure arguments, one each
};

struct Spec {
  std::string name, kind;
  std::string recipe_sha256;  // sha256 of the recipe's canonical JSON (sorted keys, compact)
  DebianSpec debian;          // kind "debian"
  TarballSpec tarball;        // kind "tarball"
  ScriptSpec script;          // kind "script"
};

// Every recipes/*.json in `files` (as matrix::data_files returns them), by name. Throws
// DataError naming the file and key for a missing or malformed kind-specific key, or a key
// that belongs to another kind.
std::map<std::string, Spec> load_specs(const matrix::DataFiles& files);

// True for a valid Debian package name (Policy §5.6.1: [a-z0-9][a-z0-9+.-]+).
bool valid_package_name(const std::string& name);

}  // namespace ksimg::recipes
