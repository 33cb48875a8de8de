// extract_archive (see extract.hpp): libarchive's reader feeding archive_write_disk with the
// SECURE_SYMLINKS and SECURE_NODOTDOT checks on, after our own name checks: every member
// name is split into components ("." dropped, ".." or an absolute name refused), the top
// directory is stripped when asked, and the result is placed under the canonical `dest`.
// Uncompressed data counts against the input caps (limits.hpp); sparse members stay sparse.
#include "oci/extract.hpp"

#include <optional>
#include <vector>

#include "oci/detail/libarchive.hpp"
#include "oci/limits.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace ksimg::oci {

namespace {

struct Extraction {
  struct archive* in;
  struct archive* out;
  std::filesystem::path dest;
  std::string origin;
  bool strip;
  std::string top;
  bool skip_devices = false;
  size_t entries = 0;
  InputBudget budget{origin};
};

std::vector<std::string> components(const Extraction& x, const std::string& name) {
  if (name.empty() || name[0] == '/')
    throw IntegrityError(x.origin + ": member '" + name +
                         "' has an absolute or empty name; refusing to unpack it");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = std::min(name.find('/', start), name.size());
    std::string part = name.substr(start, slash - start);
    if (part == "..")
      throw IntegrityError(x.origin + ": member '" + name + "' climbs out with '..'; refusing to unpack it");
    if (!part.empty() && part != ".") parts.push_back(part);
    start = slash + 1;
  }
  return parts;
}

// The member's path below dest, or nullopt for the stripped top directory itself.
std::optional<std::filesystem::path> place(Extraction& x, const std::string& name, bool is_dir) {
  auto parts = components(x, name);
  if (parts.empty()) return std::nullopt;
  if (x.strip) {
    if (x.top.empty()) x.top = parts[0];
    if (parts[0] != x.top || (parts.size() == 1 && !is_dir))
      throw IntegrityError(x.origin + " has more than one top-level entry ('" + x.top + "' and '" + name +
                           "'); expected a single top directory");
    parts.erase(parts.begin());
    if (parts.empty()) return std::nullopt;
  }
  std::filesystem::path p = x.dest;
  for (const auto& c : parts) p /= c;
  return p;
}

void copy_data(Extraction& x, const std::string& name) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  int rc;
  while ((rc = archive_read_data_block(x.in, &buf, &size, &offset)) == ARCHIVE_OK) {
    x.budget.add(size);
    if (archive_write_data_block(x.out, buf, size, offset) != ARCHIVE_OK)
      throw RuntimeError(x.origin + ": cannot write '" + name + "': " + detail::archive_error(x.out));
  }
  if (rc != ARCHIVE_EOF)
    throw IntegrityError(x.origin + " is corrupt at '" + name + "': " + detail::archive_error(x.in));
}

// False when the member is skipped.
bool check_type(Extraction& x, archive_entry* e, const std::string& name) {
  auto t = archive_entry_filetype(e);
  if ((t == AE_IFCHR || t == AE_IFBLK) && x.skip_devices) {
    log::debug(x.origin + ": skipping device node '" + name + "'");
    return false;
  }
  if (t == AE_IFCHR || t == AE_IFBLK)
    throw IntegrityError(x.origin + ": member '" + name + "' is a device node; refusing to unpack it");
  if (t == AE_IFIFO || t == AE_IFSOCK) {
    log::warn(x.origin + ": skipping fifo or socket '" + name + "'");
    return false;
  }
  return true;
}

void extract_entry(Extraction& x, archive_entry* e) {
  const char* raw = archive_entry_pathname(e);
  if (!raw) throw IntegrityError(x.origin + ": a member name cannot be decoded");
  std::string name = raw;
  auto path = place(x, name, archive_entry_filetype(e) == AE_IFDIR);
  if (!path || !check_type(x, e, name)) return;
  x.budget.start(name, archive_entry_size_is_set(e) ? archive_entry_size(e) : -1);
  archive_entry_set_pathname(e, path->c_str());
  if (const char* link = archive_entry_hardlink(e)) {
    auto target = place(x, link, false);
    if (!target)
      throw IntegrityError(x.origin + ": hardlink '" + name + "' points at the top directory '" + link + "'");
    archive_entry_set_hardlink(e, target->c_str());
  }
  archive_entry_set_perm(e, archive_entry_perm(e) & 01777);
  if (archive_write_header(x.out, e) != ARCHIVE_OK)
    throw IntegrityError(x.origin + ": cannot unpack '" + name + "': " + detail::archive_error(x.out));
  if (archive_entry_size(e) > 0 && archive_entry_filetype(e) == AE_IFREG) copy_data(x, name);
  if (archive_write_finish_entry(x.out) != ARCHIVE_OK)
    throw RuntimeError(x.origin + ": cannot finish '" + name + "': " + detail::archive_error(x.out));
  ++x.entries;
}

detail::ReadPtr open_input(const std::filesystem::path& archive) {
  detail::ReadPtr in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_tar(in.get());
  archive_read_support_format_gnutar(in.get());
  if (archive_read_open_filename(in.get(), archive.c_str(), 1 << 18) != ARCHIVE_OK)
    throw IntegrityError("cannot read " + archive.string() + ": " + detail::archive_error(in.get()) +
                         "; expected a tar archive (plain, .gz, .bz2, .xz, .zst)");
  return in;
}

}  // namespace

ExtractResult extract_archive(const std::filesystem::path& archive, const std::filesystem::path& dest,
                              const ExtractOptions& opts) {
  detail::Utf8Locale locale;
  auto in = open_input(archive);
  detail::WritePtr out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  // Canonical, so the symlink check never trips over a symlinked ancestor of dest itself.
  Extraction x{in.get(),         out.get(),          std::filesystem::canonical(dest),
               archive.string(), opts.strip_top_dir, {}};
  std::optional<Progress> progress;
  x.skip_devices = opts.skip_devices;
  if (!opts.progress_label.empty())
    progress.emplace(opts.progress_label, std::filesystem::file_size(archive));
  archive_entry* e;
  int rc;
  while ((rc = archive_read_next_header(x.in, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    extract_entry(x, e);
    if (progress) progress->set(static_cast<uint64_t>(archive_filter_bytes(x.in, -1)));
  }
  if (rc != ARCHIVE_EOF) throw IntegrityError(x.origin + " is corrupt: " + detail::archive_error(x.in));
  if (archive_write_close(x.out) != ARCHIVE_OK)
    throw RuntimeError(x.origin + ": cannot finish unpacking: " + detail::archive_error(x.out));
  if (opts.strip_top_dir && x.top.empty())
    throw IntegrityError(x.origin + " is empty; expected a top directory");
  return {x.top, x.entries};
}

}  // namespace ksimg::oci
