// inspect_cpio (see cpio_check.hpp): libarchive with every filter and only the cpio formats,
// headers only (member data is skipped).
#include "oci/cpio_check.hpp"

#include "oci/detail/libarchive.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace {

constexpr const char* pack_hint =
    "; pack a directory as the kernel reads it: cd ROOT && find . | cpio -o -H newc | gzip -n > FILE";

}  // namespace

CpioSummary inspect_cpio(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    throw UsageError("--initramfs " + file.string() + ": no such file" + pack_hint);
  detail::Utf8Locale locale;
  detail::ReadPtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_cpio(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    throw UsageError("--initramfs " + file.string() + " is not a cpio archive (" +
                     detail::archive_error(a.get()) + ")" + pack_hint);
  CpioSummary s;
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    if (s.entries++ == 0) {
      s.format = archive_format_name(a.get()) ? archive_format_name(a.get()) : "cpio";
      s.compression = archive_filter_count(a.get()) > 1 ? archive_filter_name(a.get(), 0) : "none";
    }
    const char* name = archive_entry_pathname(e);
    std::string n = name ? name : "";
    if (n == "init" || n == "./init" || n == "/init") s.has_init = true;
  }
  if (rc != ARCHIVE_EOF || s.entries == 0)
    throw UsageError("--initramfs " + file.string() + " is not a cpio archive" +
                     (s.entries ? " (damaged after " + std::to_string(s.entries) + " members: " : " (") +
                     detail::archive_error(a.get()) + ")" + pack_hint);
  return s;
}

}  // namespace ksimg::oci
