// Archive sources for the layer writer (detail/sources.hpp): members streamed through
// libarchive from tar (any compression), cpio, or a .deb's data.tar.* member. Member names
// are checked against the extraction-safety rules (OCI image-spec layer.md; no absolute
// names, no "..", hardlinks only to earlier members); file data is spooled for later writing,
// counted against the input caps (limits.hpp); a sparse member's holes become zeros (a hole
// in the spool file), so the layer holds a file of its real size (docs/security.md).
#include <algorithm>
#include <vector>

#include "oci/detail/libarchive.hpp"
#include "oci/detail/sources.hpp"
#include "oci/limits.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::oci::detail {

std::optional<std::string> Placement::place(std::string_view raw, std::string_view origin) const {
  auto parts = clean_components(raw, origin);
  if (parts.size() <= static_cast<size_t>(strip)) return std::nullopt;
  std::vector<std::string> all = prefix;
  all.insert(all.end(), parts.begin() + strip, parts.end());
  for (const auto& [from, to] : moves) {
    if (all.size() < from.size() || !std::equal(from.begin(), from.end(), all.begin())) continue;
    std::vector<std::string> moved = to;
    moved.insert(moved.end(), all.begin() + static_cast<std::ptrdiff_t>(from.size()), all.end());
    return join_components(moved);
  }
  return join_components(all);
}

namespace {

struct Reading {
  Tree& tree;
  const SpoolFn& spool;
  struct archive* a;
  const Placement& where;
  std::string origin;
  InputBudget budget{origin};
};

// archive_read_data fills the holes between a sparse member's data blocks with zeros, but
// not a hole at its end: that one is added here, up to the size the header declares.
void fill_trailing_hole(Reading& r, archive_entry* e, Spool& sp, uint64_t& size) {
  if (archive_entry_sparse_count(e) == 0 || !archive_entry_size_is_set(e)) return;
  auto declared = static_cast<uint64_t>(archive_entry_size(e));
  if (declared <= size) return;
  r.budget.add(declared - size);
  sp.append_hole(declared - size);
  size = declared;
}

uint64_t spool_data(Reading& r, archive_entry* e, const std::string& name, uint64_t& size) {
  r.budget.start(name, archive_entry_size_is_set(e) ? archive_entry_size(e) : -1);
  Spool& sp = r.spool();
  uint64_t offset = sp.end();
  std::vector<char> buf(1 << 18);
  la_ssize_t n;
  size = 0;
  while ((n = archive_read_data(r.a, buf.data(), buf.size())) > 0) {
    r.budget.add(static_cast<uint64_t>(n));
    sp.append(buf.data(), static_cast<size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  if (n < 0)
    throw IntegrityError(r.origin + ": cannot read the data of '" + name + "': " + archive_error(r.a));
  fill_trailing_hole(r, e, sp, size);
  return offset;
}

void copy_metadata(Entry& x, archive_entry* e) {
  x.perm = archive_entry_perm(e) & 07777;
  x.uid = archive_entry_uid(e);
  x.gid = archive_entry_gid(e);
  if (const char* u = archive_entry_uname(e)) x.uname = u;
  if (const char* g = archive_entry_gname(e)) x.gname = g;
  x.mtime = archive_entry_mtime_is_set(e) ? archive_entry_mtime(e) : 0;
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    x.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
}

// Fills the type-specific fields; false when the member is skipped.
bool copy_type(Reading& r, Entry& x, archive_entry* e, const std::string& name) {
  switch (archive_entry_filetype(e)) {
    case AE_IFREG:
      x.type = EntryType::file;
      x.data = {DataSource::Kind::spool, "", spool_data(r, e, name, x.size)};
      return true;
    case AE_IFDIR:
      x.type = EntryType::dir;
      return true;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) throw IntegrityError(r.origin + ": symlink '" + name + "' has no readable target");
      x.type = EntryType::symlink;
      x.symlink = target;
      return true;
    }
    case AE_IFCHR:
      x.type = EntryType::chr;
      break;
    case AE_IFBLK:
      x.type = EntryType::blk;
      break;
    case AE_IFIFO:
      x.type = EntryType::fifo;
      return true;
    case AE_IFSOCK:
      log::warn(r.origin + ": skipping socket '" + name + "'");
      return false;
    default:
      throw IntegrityError(r.origin + ": member '" + name + "' has an unsupported file type");
  }
  x.rdev_major = archive_entry_rdevmajor(e);
  x.rdev_minor = archive_entry_rdevminor(e);
  return true;
}

void add_entry(Reading& r, archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) raw = archive_entry_pathname_utf8(e);
  if (!raw) throw IntegrityError(r.origin + ": a member name cannot be decoded");
  std::string name = raw;
  auto path = r.where.place(name, r.origin);
  if (const char* link = archive_entry_hardlink(e)) {
    auto target = r.where.place(link, r.origin);
    if (!path) return;
    if (!target)
      throw IntegrityError(r.origin + ": hardlink '" + name + "' points to '" + link +
                           "', outside the layer");
    r.tree.put_hardlink(*path, *target, r.origin);
    return;
  }
  if (!path) return;  // the archive's root, or stripped away; its data is skipped
  Entry x;
  copy_metadata(x, e);
  if (copy_type(r, x, e, name)) r.tree.put(*path, std::move(x), r.origin);
}

// Returns false at the end of the archive.
bool next_header(Reading& r, archive_entry** e) {
  int rc = archive_read_next_header(r.a, e);
  if (rc == ARCHIVE_EOF) return false;
  if (rc == ARCHIVE_WARN) {
    log::debug(r.origin + ": " + archive_error(r.a));
    return true;
  }
  if (rc != ARCHIVE_OK) throw IntegrityError(r.origin + " is corrupt: " + archive_error(r.a));
  return true;
}

void enable_formats(struct archive* a) {
  // No "all": mtree and similar formats would read host files named inside the archive.
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_format_cpio(a);
  archive_read_support_format_ar(a);
  archive_read_support_format_empty(a);
}

struct Nested {
  struct archive* outer;
  std::vector<char> buf = std::vector<char>(1 << 18);
  std::string error{};  // the outer reader's, when it failed (the inner one then has none)
};

la_ssize_t nested_read(struct archive*, void* data, const void** out) {
  auto* n = static_cast<Nested*>(data);
  *out = n->buf.data();
  la_ssize_t got = archive_read_data(n->outer, n->buf.data(), n->buf.size());
  if (got < 0) n->error = archive_error(n->outer);
  return got;
}

bool is_data_tar(const std::string& member) {
  return member.rfind("data.tar", 0) == 0;
}

// Streams one ar member (a .deb's data.tar.*) through a second reader.
void add_data_tar(Reading& r, const std::string& member) {
  Nested nested{r.a};
  ReadPtr inner(archive_read_new());
  archive_read_support_filter_all(inner.get());
  archive_read_support_format_tar(inner.get());
  archive_read_support_format_gnutar(inner.get());
  std::string origin = r.origin + ":" + member;
  try {
    if (archive_read_open(inner.get(), &nested, nullptr, nested_read, nullptr) != ARCHIVE_OK)
      throw IntegrityError(origin + ": " + archive_error(inner.get()));
    add_archive_entries(r.tree, r.spool, inner.get(), r.where, origin);
  } catch (const IntegrityError&) {
    if (nested.error.empty()) throw;
    throw IntegrityError(origin + " is truncated or corrupt (" + nested.error +
                         "); download the package again");
  }
}

// `e` is the ar archive's first member, already read.
void add_deb(Reading& r, archive_entry* e) {
  do {
    const char* raw = archive_entry_pathname(e);
    if (raw && is_data_tar(raw)) return add_data_tar(r, raw);
  } while (next_header(r, &e));
  throw IntegrityError(r.origin + " is an ar archive without a data.tar member, so not a .deb package");
}

}  // namespace

void add_archive_entries(Tree& tree, const SpoolFn& spool, struct archive* reader, const Placement& where,
                         std::string_view origin) {
  Utf8Locale locale;
  Reading r{tree, spool, reader, where, std::string(origin)};
  archive_entry* e;
  while (next_header(r, &e)) add_entry(r, e);
}

void add_archive_file(Tree& tree, const SpoolFn& spool, const std::filesystem::path& file,
                      const Placement& where) {
  Utf8Locale locale;
  ReadPtr a(archive_read_new());
  enable_formats(a.get());
  const std::string hint =
      "; a layer source must be a directory, a tar archive (plain, .gz, .xz, .zst, .bz2) or a .deb";
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 18) != ARCHIVE_OK)
    throw UsageError("cannot read layer source " + file.string() + ": " + archive_error(a.get()) + hint);
  Reading r{tree, spool, a.get(), where, file.string()};
  archive_entry* e;
  int rc = archive_read_next_header(a.get(), &e);
  bool ar = (archive_format(a.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_AR;
  if (rc == ARCHIVE_EOF && ar)
    throw IntegrityError(file.string() +
                         " starts like a .deb (an ar archive) but holds no readable member; " +
                         "it is truncated or corrupt: download it again");
  if (rc == ARCHIVE_EOF) {
    log::warn(file.string() + " holds no entries");
    return;
  }
  if (rc < ARCHIVE_WARN)
    throw UsageError("cannot read layer source " + file.string() + ": " + archive_error(a.get()) + hint);
  if (ar) return add_deb(r, e);
  add_entry(r, e);
  while (next_header(r, &e)) add_entry(r, e);
}

}  // namespace ksimg::oci::detail
