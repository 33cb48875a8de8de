// The base layer's definition (layers/base.json, schema layers/README.md) and how `ksimg lock`
// pins it: mmdebstrap resolves the variant plus the listed packages to a package set (run in
// --simulate mode, so nothing is downloaded); the lock then records each of those packages
// like a debian recipe's (version, pool path, size, sha256) under the name "base".
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "matrix/data.hpp"
#include "recipes/spec.hpp"

namespace ksimg::recipes {

inline constexpr const char* kBaseName = "base";  // the lock entry's name

struct DropPath {
  std::string path, why;  // relative to the root
};

struct BaseDefinition {
  std::string suite, variant, architecture;
  std::vector<std::string> packages;
  std::vector<DropPath> drop;
  std::string sha256;  // of the definition's canonical JSON: a change invalidates the lock
};

// Parses layers/base.json from `files`; nullopt when the data has no layers/base.json.
// Throws DataError for unknown keys or malformed values.
std::optional<BaseDefinition> load_base(const matrix::DataFiles& files);

// Runs `mmdebstrap --simulate` against `mirror` and returns the (name, version) pairs apt
// would install, sorted by name. Throws RuntimeError when mmdebstrap is missing or fails.
std::vector<std::pair<std::string, std::string>> simulate_base(const BaseDefinition& def,
                                                               const std::string& mirror,
                                                               const std::string& keyring);

// Parses mmdebstrap's verbose simulate output ("Inst NAME (VERSION ...)" lines).
std::vector<std::pair<std::string, std::string>> parse_simulated(const std::string& output);

// The debian-kind Spec the locker resolves for the base (packages: the simulated set).
Spec base_spec(const BaseDefinition& def, const std::vector<std::string>& packages);

// The mmdebstrap argv that builds (or, with simulate, resolves) the base into `target`.
std::vector<std::string> mmdebstrap_argv(const BaseDefinition& def, const std::string& mirror,
                                         const std::string& keyring, const std::string& target,
                                         bool simulate);

}  // namespace ksimg::recipes
