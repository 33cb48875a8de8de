// Internal: the readers that fill a Tree from a directory walk or a libarchive stream.
#pragma once
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/detail/spool.hpp"
#include "oci/detail/tree.hpp"

struct archive;

namespace ksimg::oci::detail {

// Where a source's members land in the layer.
struct Placement {
  std::vector<std::string> prefix;  // clean components prepended to every member
  int strip = 0;                    // leading member components dropped first (archives)
  // (from, to) as clean components: a path starting with `from` gets `to` instead.
  std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> moves;

  // The layer path for member `raw`, or nullopt when nothing is left (the source's root,
  // or a member shorter than `strip`). Hostile names throw IntegrityError.
  std::optional<std::string> place(std::string_view raw, std::string_view origin) const;
};

using SpoolFn = std::function<Spool&()>;

// Walks `dir` with lstat (symlinks are stored, never followed); hardlinks are detected by
// (st_dev, st_ino). `dir` itself is not added.
void add_dir_tree(Tree& tree, const std::filesystem::path& dir, const Placement& where);

// Reads every remaining entry of `reader`, spooling file data.
void add_archive_entries(Tree& tree, const SpoolFn& spool, struct archive* reader, const Placement& where,
                         std::string_view origin);

// Opens `file` with every filter and format libarchive knows; a .deb (ar) contributes the
// entries of its data.tar.* member.
void add_archive_file(Tree& tree, const SpoolFn& spool, const std::filesystem::path& file,
                      const Placement& where);

}  // namespace ksimg::oci::detail
