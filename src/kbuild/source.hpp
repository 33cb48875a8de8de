// The kernel source of a build: a mounted tree (used read-only, built out of
// tree with O=), a tarball extracted into the work dir, or a tarball downloaded from a
// kernel.org-layout mirror and verified against its directory's sha256sums.asc. Every way
// ends with the tree's top Makefile saying the requested version.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "kbuild/plan.hpp"
#include "kbuild/runner.hpp"

namespace ksimg::kbuild {

struct Source {
  std::filesystem::path tree;  // what make -C uses
  std::string kind;            // tree | tarball | download
  std::string origin;          // the path or URL it came from
  std::optional<std::string> sha256;
  bool in_work_dir = false;  // extracted or copied by kbuild (writable)
};

// Where the source will come from, in words, without touching anything (for --dry-run).
std::string describe_source(const BuildOptions& o, const std::string& mirror);

// Gets the source as above. Throws UsageError (missing source, unclean tree, version
// mismatch), IntegrityError (sha256 mismatch, corrupt tarball) or RuntimeError (download).
Source obtain_source(const BuildOptions& o, const Plan& p, Runner& r, const std::string& mirror);

// Throws UsageError unless `tree` is a kernel tree whose Makefile states `v`.
void check_version(const std::filesystem::path& tree, const matrix::Version& v);
// Throws UsageError when the tree has been configured in place (.config, include/config).
void check_clean(const std::filesystem::path& tree);

// A copy of a read-only tree in the work dir, for quirks that patch files.
Source writable_copy(const Source& s, const Plan& p, Runner& r);

// `sha256sum FILE` -> lowercase hex.
std::string sha256_file(const std::filesystem::path& f);

}  // namespace ksimg::kbuild
