// scan_tar (see tar_scan.hpp): libarchive in tar mode, one pass; each member's data is
// offered to the callback through a MemberData that reads from the open archive, and
// libarchive skips whatever the callback did not read when the next header is requested.
#include "oci/tar_scan.hpp"

#include "oci/detail/libarchive.hpp"
#include "oci/detail/tar_member.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace {

class ArchiveData : public MemberData {
 public:
  ArchiveData(struct archive* a, const std::string& origin) : a_(a), origin_(origin) {}
  std::string read(size_t max) override {
    std::string out;
    char buf[1 << 16];
    while (out.size() < max) {
      la_ssize_t n = archive_read_data(a_, buf, std::min(sizeof buf, max - out.size()));
      if (n < 0) throw IntegrityError(origin_ + " is corrupt: " + detail::archive_error(a_));
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    return out;
  }

 private:
  struct archive* a_;
  const std::string& origin_;
};

}  // namespace

void scan_tar(const std::filesystem::path& file,
              const std::function<void(const TarMember&, MemberData&)>& fn) {
  detail::Utf8Locale locale;
  detail::ReadPtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  const std::string origin = file.string();
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 18) != ARCHIVE_OK)
    throw IntegrityError("cannot read " + origin + ": " + detail::archive_error(a.get()));
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    ArchiveData data(a.get(), origin);
    fn(detail::entry_member(e), data);
  }
  if (rc != ARCHIVE_EOF) throw IntegrityError(origin + " is corrupt: " + detail::archive_error(a.get()));
}

}  // namespace ksimg::oci
