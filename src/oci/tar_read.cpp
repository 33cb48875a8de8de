// Layer readers (see tar_read.hpp): libarchive in tar mode for member lists, and in "raw"
// mode (any filter, no format) for the uncompressed stream. Used by tests and inspection.
#include "oci/tar_read.hpp"

#include <algorithm>
#include <vector>

#include "oci/detail/libarchive.hpp"
#include "oci/detail/tar_member.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace detail {

char entry_type(archive_entry* e) {
  if (archive_entry_hardlink(e)) return 'h';
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      return 'd';
    case AE_IFLNK:
      return 'l';
    case AE_IFCHR:
      return 'c';
    case AE_IFBLK:
      return 'b';
    case AE_IFIFO:
      return 'p';
    default:
      return 'f';
  }
}

TarMember entry_member(archive_entry* e) {
  TarMember m;
  const char* p = archive_entry_pathname(e);
  m.path = p ? p : "";
  m.type = entry_type(e);
  m.perm = archive_entry_perm(e) & 07777;
  m.uid = archive_entry_uid(e);
  m.gid = archive_entry_gid(e);
  if (const char* u = archive_entry_uname(e)) m.uname = u;
  if (const char* g = archive_entry_gname(e)) m.gname = g;
  m.mtime = archive_entry_mtime(e);
  m.atime_set = archive_entry_atime_is_set(e);
  m.ctime_set = archive_entry_ctime_is_set(e);
  m.size = static_cast<uint64_t>(archive_entry_size(e));
  if (const char* l = archive_entry_hardlink(e))
    m.link = l;
  else if (const char* s = archive_entry_symlink(e))
    m.link = s;
  m.rdev_major = archive_entry_rdevmajor(e);
  m.rdev_minor = archive_entry_rdevminor(e);
  const char* name;
  const void* value;
  size_t size;
  archive_entry_xattr_reset(e);
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    m.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
  std::reverse(m.xattrs.begin(), m.xattrs.end());  // libarchive lists them last-read first
  return m;
}

}  // namespace detail

namespace {

detail::ReadPtr open_reader(const std::filesystem::path& file, bool raw) {
  detail::ReadPtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  if (raw) {
    archive_read_support_format_raw(a.get());
  } else {
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
  }
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 18) != ARCHIVE_OK)
    throw IntegrityError("cannot read " + file.string() + ": " + detail::archive_error(a.get()));
  return a;
}

}  // namespace

std::vector<TarMember> list_tar(const std::filesystem::path& file) {
  detail::Utf8Locale locale;
  auto a = open_reader(file, false);
  std::vector<TarMember> out;
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
    out.push_back(detail::entry_member(e));
  if (rc != ARCHIVE_EOF)
    throw IntegrityError(file.string() + " is corrupt: " + detail::archive_error(a.get()));
  return out;
}

void decompress(const std::filesystem::path& file, const std::function<void(const char*, size_t)>& sink) {
  auto a = open_reader(file, true);
  archive_entry* e;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    throw IntegrityError(file.string() + " is corrupt: " + detail::archive_error(a.get()));
  std::vector<char> buf(1 << 18);
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf.data(), buf.size())) > 0)
    sink(buf.data(), static_cast<size_t>(n));
  if (n < 0) throw IntegrityError(file.string() + " is corrupt: " + detail::archive_error(a.get()));
}

}  // namespace ksimg::oci
