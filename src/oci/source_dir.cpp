// Directory-tree source for the layer writer (detail/sources.hpp). Walks with lstat and
// never follows symlinks; hardlinks are found by (st_dev, st_ino) as umoci and GNU tar do;
// xattrs are read with llistxattr/lgetxattr. Sockets cannot live in a tar and are skipped.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>

#include "oci/detail/sources.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::oci::detail {

namespace {

struct Walk {
  Tree& tree;
  const Placement& where;
  std::string origin;
  std::map<std::pair<dev_t, ino_t>, uint64_t> groups;
};

std::vector<std::pair<std::string, std::string>> read_xattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len < 0 && (errno == ENOTSUP || errno == ENODATA)) return out;
  if (len < 0) throw RuntimeError(errno_text("cannot list xattrs of", path));
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0) throw RuntimeError(errno_text("cannot list xattrs of", path));
  names.resize(static_cast<size_t>(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vlen = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (vlen < 0 && errno == ENODATA) continue;  // removed meanwhile
    if (vlen < 0) throw RuntimeError(errno_text("cannot read xattr " + name + " of", path));
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (vlen < 0) throw RuntimeError(errno_text("cannot read xattr " + name + " of", path));
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::string read_link(const std::string& path, size_t size_hint) {
  std::string buf(size_hint + 1 > 256 ? size_hint + 1 : 256, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) throw RuntimeError(errno_text("cannot read symlink", path));
    if (static_cast<size_t>(n) < buf.size()) return buf.substr(0, static_cast<size_t>(n));
    buf.resize(buf.size() * 2);
  }
}

// Fills type-specific fields; returns false for types a tar cannot hold.
bool fill_type(Entry& e, const struct stat& st, const std::string& abs) {
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR:
      e.type = EntryType::dir;
      return true;
    case S_IFREG:
      e.type = EntryType::file;
      e.size = static_cast<uint64_t>(st.st_size);
      e.data = {DataSource::Kind::disk, abs, 0};
      return true;
    case S_IFLNK:
      e.type = EntryType::symlink;
      e.symlink = read_link(abs, static_cast<size_t>(st.st_size));
      return true;
    case S_IFCHR:
      e.type = EntryType::chr;
      break;
    case S_IFBLK:
      e.type = EntryType::blk;
      break;
    case S_IFIFO:
      e.type = EntryType::fifo;
      return true;
    default:
      return false;
  }
  e.rdev_major = major(st.st_rdev);
  e.rdev_minor = minor(st.st_rdev);
  return true;
}

void walk_dir(Walk& w, const std::string& abs, const std::string& rel);

void add_one(Walk& w, const std::string& abs, const std::string& rel) {
  struct stat st {};
  if (::lstat(abs.c_str(), &st) != 0) throw RuntimeError(errno_text("cannot stat", abs));
  Entry e;
  if (!fill_type(e, st, abs)) {
    log::warn("skipping " + abs + ": sockets cannot be stored in a tar layer");
    return;
  }
  e.perm = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.mtime = st.st_mtim.tv_sec;
  e.xattrs = read_xattrs(abs);
  if (e.type != EntryType::dir && st.st_nlink > 1) {
    auto [it, fresh] = w.groups.try_emplace({st.st_dev, st.st_ino}, 0);
    if (fresh) it->second = w.tree.new_link_group();
    e.link_group = it->second;
  }
  auto path = w.where.place(rel, w.origin);
  bool is_dir = e.type == EntryType::dir;
  if (path) w.tree.put(*path, std::move(e), w.origin);
  if (is_dir) walk_dir(w, abs, rel);
}

void walk_dir(Walk& w, const std::string& abs, const std::string& rel) {
  DIR* d = ::opendir(abs.c_str());
  if (!d) throw RuntimeError(errno_text("cannot read directory", abs));
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) {
    errno = err;
    throw RuntimeError(errno_text("cannot read directory", abs));
  }
  for (const auto& name : names) add_one(w, abs + "/" + name, rel.empty() ? name : rel + "/" + name);
}

}  // namespace

void add_dir_tree(Tree& tree, const std::filesystem::path& dir, const Placement& where) {
  struct stat st {};  // the root may be a symlink to a directory; nothing below it is followed
  if (::stat(dir.c_str(), &st) != 0) throw UsageError(errno_text("cannot use layer source", dir.string()));
  if (!S_ISDIR(st.st_mode)) throw UsageError("layer source " + dir.string() + " is not a directory");
  Walk w{tree, where, dir.string(), {}};
  std::string root = dir.string();
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  walk_dir(w, root, "");
}

}  // namespace ksimg::oci::detail
