// The lock file (docs/lock.md): every recipe resolved to exact bytes, the Debian suites they
// were resolved against, and the SOURCE_DATE_EPOCH images use. Mirror-independent: package
// locations are pool paths relative to the archive root, never URLs of a mirror.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::recipes {

constexpr int kLockSchema = 1;

struct LockedSuite {
  std::string suite, codename, date;       // from the suite's Release
  std::optional<std::string> valid_until;  // from the Release, when present
  std::string inrelease_sha256;            // of the InRelease file as served
};

struct LockedPackage {
  std::string name, version, architecture;
  std::string filename;  // pool path: "pool/main/g/gcc-10-cross-mipsen/..."
  uint64_t size = 0;
  std::string sha256;
};

struct LockedInput {
  std::string name;               // file name the build sees under /inputs
  std::vector<std::string> urls;  // tried in order
  std::string sha256;             // of the bytes; "" when pinned by tree only
  std::string nar_sha256 = {};    // "sha256-<base64>" of the unpacked tree; "" when pinned by bytes only
};

struct LockedRecipe {
  std::string kind;                      // debian | tarball | script
  std::string status;                    // "locked" | "pending" (inputs not pinned yet)
  std::string recipe_sha256;             // of the recipe file's canonical JSON when it was locked
  std::string suite;                     // debian
  std::vector<LockedPackage> packages;   // debian, in the recipe's order
  std::vector<std::string> urls;         // tarball
  std::string sha256;                    // tarball
  std::vector<LockedInput> inputs = {};  // script (locked): every source tarball, pinned
  std::string reason = {};               // pending: why the recipe is not pinned ("" = not said)
  // debian: the package sets of other host architectures ("arm64"), each in the recipe's
  // hosts.<arch> order; `packages` above is the amd64 host's.
  std::map<std::string, std::vector<LockedPackage>> hosts = {};
  // The packages an `arch` host installs: `packages` for amd64, hosts[arch] otherwise (empty
  // when the lock has none).
  const std::vector<LockedPackage>& packages_for(const std::string& arch) const;
};

struct Lock {
  int64_t source_date_epoch = 0;
  std::map<std::string, LockedSuite> debian_suites;  // keyed by the suite name recipes use
  std::map<std::string, LockedRecipe> recipes;       // keyed by recipe name
};

// The canonical text: 2-space indented JSON, keys in a fixed order, maps sorted, final
// newline. Equal locks give identical bytes.
std::string render_lock(const Lock& lock);

// Parses a lock file's text; throws DataError naming `file` for anything malformed or a
// schema other than kLockSchema.
Lock parse_lock(std::string_view text, const std::string& file);

}  // namespace ksimg::recipes
