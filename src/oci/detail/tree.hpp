// Internal: the in-memory model of one layer before it is written. Paths are the layer's
// member names (relative, '/'-separated, no "." or ".." parts); std::map keeps them in
// bytewise order, which is the canonical tar order (a parent is a prefix, so it sorts first).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ksimg::oci::detail {

enum class EntryType { file, dir, symlink, chr, blk, fifo };

const char* type_name(EntryType t);

// Where a regular file's bytes come from when the tar is written.
struct DataSource {
  enum class Kind { none, disk, spool } kind = Kind::none;
  std::string disk_path;  // Kind::disk: read (O_NOFOLLOW) at write time
  uint64_t offset = 0;    // Kind::spool: offset in the layer's spool file
};

// Raw metadata as found in the source; emit_tar() canonicalises owners, times and xattrs.
struct Entry {
  EntryType type = EntryType::file;
  uint32_t perm = 0;  // the 07777 bits (setuid, setgid, sticky and rwx)
  int64_t uid = 0, gid = 0;
  std::string uname, gname;
  int64_t mtime = 0;
  uint64_t size = 0;    // regular files only
  std::string symlink;  // symlink target, stored verbatim
  uint32_t rdev_major = 0, rdev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
  DataSource data;
  // > 0: this entry shares one inode with every other entry of the same group (hardlinks).
  // In the tar the bytewise-smallest member carries the data, the others link to it.
  uint64_t link_group = 0;
};

// Splits `raw` into clean components ("./a//b/" -> {a, b}); throws IntegrityError for NUL,
// a leading '/', or a ".." component, naming `origin` (the source being read).
std::vector<std::string> clean_components(std::string_view raw, std::string_view origin);
std::string join_components(const std::vector<std::string>& parts, size_t from = 0);

class Tree {
 public:
  // Adds `path`, replacing an earlier entry of the same path (a later source wins).
  // Throws IntegrityError when a parent of `path` is a non-directory in this layer, and
  // UsageError when a directory with members would be replaced by a non-directory.
  void put(const std::string& path, Entry e, std::string_view origin);
  // Adds `link` as another name of the non-directory `target`, which must already exist.
  void put_hardlink(const std::string& link, const std::string& target, std::string_view origin);

  const Entry* find(const std::string& path) const;
  uint64_t new_link_group() { return ++groups_; }
  const std::map<std::string, Entry>& entries() const { return entries_; }

 private:
  void check_parents(const std::string& path, std::string_view origin) const;
  bool has_members(const std::string& dir) const;

  std::map<std::string, Entry> entries_;
  uint64_t groups_ = 0;
};

}  // namespace ksimg::oci::detail
