// read_top_member (see peek.hpp): streams the archive's headers with libarchive and stops
// at the first top-level or one-level-deep member of the wanted name. decompress_file: the
// same reader with the "raw" format, which yields the filter chain's output as one entry.
#include "oci/peek.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "util/error.hpp"

namespace ksimg::oci {

static bool matches(const std::string& path, const std::string& name) {
  std::string p = path.rfind("./", 0) == 0 ? path.substr(2) : path;
  if (p == name) return true;
  auto slash = p.find('/');
  return slash != std::string::npos && p.substr(slash + 1) == name;
}

std::optional<std::string> read_top_member(const std::filesystem::path& archive, const std::string& name,
                                           size_t max_bytes) {
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), archive.c_str(), 1 << 16) != ARCHIVE_OK)
    throw IntegrityError("cannot read " + archive.string() + ": " + archive_error_string(a.get()) +
                         "; is it a tar archive?");
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) != AE_IFREG || !matches(archive_entry_pathname(e), name)) continue;
    std::string out;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > max_bytes)
        throw IntegrityError(archive.string() + ": member " + name + " is implausibly large");
    }
    if (n < 0) throw IntegrityError(archive.string() + " is corrupt: " + archive_error_string(a.get()));
    return out;
  }
  if (rc != ARCHIVE_EOF)
    throw IntegrityError(archive.string() +
                         " is corrupt or not a tar archive: " + archive_error_string(a.get()));
  return std::nullopt;
}

std::string decompress_file(const std::filesystem::path& file, size_t max_bytes) {
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  auto corrupt = [&](const char* what) {
    const char* err = archive_error_string(a.get());
    return IntegrityError(file.string() + " " + what + ": " + (err ? err : "unknown error"));
  };
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    throw corrupt("cannot be read");
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(a.get(), &e);
  if (rc == ARCHIVE_EOF) return {};
  if (rc != ARCHIVE_OK) throw corrupt("is corrupt");
  std::string out;
  char buf[1 << 16];
  la_ssize_t n;
  while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes)
      throw IntegrityError(file.string() + " decompresses to more than " + std::to_string(max_bytes) +
                           " bytes");
  }
  if (n < 0) throw corrupt("is corrupt");
  return out;
}

}  // namespace ksimg::oci
