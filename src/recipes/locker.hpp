// `ksimg lock`: resolves recipes to exact bytes and writes the lock file (docs/lock.md).
// debian recipes: each listed package in its suite's signed index -> version, pool path,
// size, sha256. tarball recipes: their pinned URLs and sha256. script recipes: their pinned
// inputs, or "pending" with the reason while an input's sha256 is missing.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "http/transport.hpp"
#include "recipes/lock.hpp"

namespace ksimg::recipes {

struct LockRequest {
  std::string data_dir;              // as for matrix::get ("" = built-in data)
  std::vector<std::string> recipes;  // recipe names to lock...
  std::vector<std::string> cells;    // ...and/or cells ("k4/mipsel": all the cell's recipes);
                                     // both empty: every recipe, and stale entries are dropped
  std::string mirror_flag;           // --debian-mirror (or KSIMG_DEBIAN_MIRROR); "" = apt sources
  std::filesystem::path apt_root = "/";
  std::filesystem::path keyring;
  std::filesystem::path lock_file;
  int64_t now = 0;  // for Valid-Until checks; 0 = the current time
};

struct RecipeReport {
  std::string name, kind, status;
  std::string suite;
  size_t packages = 0;
  uint64_t bytes = 0;
  std::vector<std::string> external_depends;  // Depends/Pre-Depends the recipe's packages leave open
  // debian recipes with an arm64 host (hosts.arm64): the same for the arm64 package set
  size_t arm64_packages = 0;
  uint64_t arm64_bytes = 0;
  std::vector<std::string> arm64_external_depends = {};
};

struct LockResult {
  Lock lock;
  bool written = false;               // false: the file already held exactly these bytes
  std::vector<RecipeReport> recipes;  // the recipes resolved in this run, by name
};

// Reads the existing lock (if any), resolves the selected recipes, merges, and writes the file
// atomically when its bytes change. Nothing is written when any step fails. The mirror is
// looked up only when a debian recipe is selected.
LockResult lock_recipes(const LockRequest& req, http::Transport& t);

}  // namespace ksimg::recipes
