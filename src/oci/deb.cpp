// read_deb_control (see deb.hpp; deb(5)): walks the outer ar archive with libarchive; the
// control.tar.* member (and data.tar.*, when listing) is read through a second libarchive
// reader fed from the first (any compression libarchive knows), keeping ./control and
// ./md5sums. deb(5) puts control.tar before data.tar; a .deb that does not is refused.
#include "oci/deb.hpp"

#include <vector>

#include "oci/detail/libarchive.hpp"
#include "oci/detail/tar_member.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace {

constexpr size_t kMaxMember = 16 << 20;  // control files are a few KiB; md5sums rarely 1 MiB

struct Outer {
  struct archive* a;
  std::vector<char> buf = std::vector<char>(1 << 16);
  std::string error{};  // the outer reader's, when it failed (the inner one then has none)
};

la_ssize_t outer_read(struct archive*, void* data, const void** out) {
  auto* o = static_cast<Outer*>(data);
  *out = o->buf.data();
  la_ssize_t got = archive_read_data(o->a, o->buf.data(), o->buf.size());
  if (got < 0) o->error = detail::archive_error(o->a);
  return got;
}

// Why the inner reader failed: a truncated or corrupt outer .deb, else the inner stream.
std::string inner_error(const Outer& o, struct archive* inner) {
  return o.error.empty() ? detail::archive_error(inner) : o.error;
}

std::string read_member(struct archive* a, const std::string& origin) {
  std::string out;
  char buf[1 << 16];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxMember) throw IntegrityError(origin + " is implausibly large");
  }
  if (n < 0) throw IntegrityError(origin + " is corrupt: " + detail::archive_error(a));
  return out;
}

std::string base_name(std::string p) {
  while (p.starts_with("./")) p.erase(0, 2);
  return p;
}

detail::ReadPtr open_inner(Outer& o, const std::string& origin) {
  detail::ReadPtr inner(archive_read_new());
  archive_read_support_filter_all(inner.get());
  archive_read_support_format_tar(inner.get());
  archive_read_support_format_gnutar(inner.get());
  if (archive_read_open(inner.get(), &o, nullptr, outer_read, nullptr) != ARCHIVE_OK)
    throw IntegrityError(origin + " is corrupt: " + inner_error(o, inner.get()));
  return inner;
}

void list_data_tar(struct archive* outer, const std::string& origin, std::vector<DebMember>& out) {
  Outer o{outer};
  auto inner = open_inner(o, origin);
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(inner.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    const char* p = archive_entry_pathname(e);
    DebMember m{base_name(p ? p : ""), detail::entry_type(e), {}};
    if (const char* l = archive_entry_hardlink(e))
      m.link = l;
    else if (const char* s = archive_entry_symlink(e))
      m.link = s;
    if (!m.path.empty()) out.push_back(std::move(m));
  }
  if (rc != ARCHIVE_EOF) throw IntegrityError(origin + " is corrupt: " + inner_error(o, inner.get()));
}

DebControl read_control_tar(struct archive* outer, const std::string& origin) {
  Outer o{outer};
  auto inner = open_inner(o, origin);
  DebControl out;
  bool found = false;
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(inner.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    if (archive_entry_filetype(e) != AE_IFREG || !archive_entry_pathname(e)) continue;
    std::string name = base_name(archive_entry_pathname(e));
    if (name == "control") {
      out.control = read_member(inner.get(), origin + ":control");
      found = true;
    } else if (name == "md5sums") {
      out.md5sums = read_member(inner.get(), origin + ":md5sums");
    }
  }
  if (rc != ARCHIVE_EOF) throw IntegrityError(origin + " is corrupt: " + inner_error(o, inner.get()));
  if (!found) throw IntegrityError(origin + " has no control file, so this is not a valid .deb");
  return out;
}

}  // namespace

DebControl read_deb_control(const std::filesystem::path& deb, bool list_data) {
  detail::Utf8Locale locale;
  detail::ReadPtr a(archive_read_new());
  archive_read_support_format_ar(a.get());
  if (archive_read_open_filename(a.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK)
    throw IntegrityError("cannot read " + deb.string() + " as a .deb: " + detail::archive_error(a.get()));
  std::optional<DebControl> out;
  bool data = false;
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    std::string_view name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    if (name.starts_with("control.tar"))
      out = read_control_tar(a.get(), deb.string() + ":" + std::string(name));
    if (name.starts_with("data.tar") && out && list_data) {
      list_data_tar(a.get(), deb.string() + ":" + std::string(name), out->data);
      data = true;
    }
    if (out && (!list_data || data)) return std::move(*out);
  }
  if (rc != ARCHIVE_EOF)
    throw IntegrityError(deb.string() + " is corrupt: " + detail::archive_error(a.get()));
  throw IntegrityError(deb.string() + " has no " + (out ? "data.tar" : "control.tar") +
                       " member, so it is not a .deb package");
}

}  // namespace ksimg::oci
