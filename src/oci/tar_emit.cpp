// Canonical tar writer (detail/tar_emit.hpp), following docs/images.md "Determinism" and
// OCI image-spec layer.md: libarchive's "pax restricted" format (ustar headers; a pax 'x'
// header only for what ustar cannot hold: long or non-ASCII names and link targets, xattrs as
// SCHILY.xattr records, sizes >= 8 GiB), members in bytewise path order, owners 0/0 without names, mtime
// clamped to SOURCE_DATE_EPOCH in whole seconds, no atime/ctime, xattrs sorted by name, hardlinks pointing at
// the smallest path of their group, and no padding after the end-of-archive blocks.
#include "oci/detail/tar_emit.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <vector>

#include "oci/detail/libarchive.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::oci::detail {

bool keep_xattr(std::string_view name) {
  if (name.rfind("user.", 0) == 0) return true;
  return name.rfind("security.", 0) == 0 && name != "security.selinux";
}

namespace {

constexpr size_t kChunk = 1 << 18;

struct Out {
  const ByteSink* sink;
  std::exception_ptr error;
  bool stopped = false;  // the layer failed: nothing more reaches the sink
};

la_ssize_t write_cb(struct archive*, void* ctx, const void* buf, size_t n) {
  auto* out = static_cast<Out*>(ctx);
  if (out->error || out->stopped) return -1;  // never call a sink again once it has failed
  try {
    (*out->sink)(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  } catch (...) {
    out->error = std::current_exception();
    return -1;
  }
}

struct Writer {
  struct archive* a;
  Out& out;
  const Spool* spool;
  std::vector<char>& buf;  // one read buffer for every file (not a fresh zeroed one per file)

  void check(la_ssize_t rc, const std::string& what) const {
    if (out.error) std::rethrow_exception(out.error);
    if (rc < ARCHIVE_WARN)
      throw RuntimeError("cannot write the layer tar (" + what + "): " + archive_error(a));
    if (rc == ARCHIVE_WARN) log::debug("libarchive: " + what + ": " + archive_error(a));
  }
  void data(const std::string& path, const char* buf, size_t n) const {
    check(archive_write_data(a, buf, n), path);
  }
};

int filetype(EntryType t) {
  switch (t) {
    case EntryType::file:
      return AE_IFREG;
    case EntryType::dir:
      return AE_IFDIR;
    case EntryType::symlink:
      return AE_IFLNK;
    case EntryType::chr:
      return AE_IFCHR;
    case EntryType::blk:
      return AE_IFBLK;
    case EntryType::fifo:
      return AE_IFIFO;
  }
  return AE_IFREG;
}

void set_metadata(archive_entry* ae, const Entry& e, const Canon& c, bool hardlink) {
  archive_entry_set_filetype(ae, static_cast<unsigned>(filetype(e.type)));
  archive_entry_set_perm(ae, e.perm & 07777);
  archive_entry_set_uid(ae, c.keep_owners ? e.uid : 0);
  archive_entry_set_gid(ae, c.keep_owners ? e.gid : 0);
  if (c.keep_owners && c.keep_names && !e.uname.empty()) archive_entry_copy_uname(ae, e.uname.c_str());
  if (c.keep_owners && c.keep_names && !e.gname.empty()) archive_entry_copy_gname(ae, e.gname.c_str());
  archive_entry_set_mtime(ae, std::clamp<int64_t>(e.mtime, 0, std::max<int64_t>(c.epoch, 0)), 0);
  if (e.type == EntryType::symlink) archive_entry_copy_symlink(ae, e.symlink.c_str());
  if (e.type == EntryType::chr || e.type == EntryType::blk) {
    archive_entry_set_rdevmajor(ae, e.rdev_major);
    archive_entry_set_rdevminor(ae, e.rdev_minor);
  }
  // libarchive prepends each xattr to its list: adding them in descending order writes them sorted.
  // A hardlink shares its target's inode, whose xattrs the target's header already carries.
  auto xattrs = hardlink ? decltype(e.xattrs){} : e.xattrs;
  std::sort(xattrs.rbegin(), xattrs.rend());
  for (const auto& [name, value] : xattrs)
    if (keep_xattr(name)) archive_entry_xattr_add_entry(ae, name.c_str(), value.data(), value.size());
}

void copy_disk_file(const Writer& w, const std::string& path, const Entry& e) {
  const std::string& src = e.data.disk_path;
  int fd = ::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw RuntimeError(errno_text("cannot open", src));
  if (e.size > kChunk) ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // larger readahead when cold
  auto& buf = w.buf;
  uint64_t done = 0;
  try {
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw RuntimeError(errno_text("cannot read", src));
      if (n == 0) break;
      if (done + static_cast<uint64_t>(n) > e.size) break;
      w.data(path, buf.data(), static_cast<size_t>(n));
      done += static_cast<uint64_t>(n);
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (done != e.size)
    throw RuntimeError(src +
                       " changed size while the layer was being written; build from a tree nothing modifies");
}

void copy_spooled(const Writer& w, const std::string& path, const Entry& e) {
  if (!w.spool) throw RuntimeError("internal: spooled entry '" + path + "' without a spool");
  auto& buf = w.buf;
  for (uint64_t done = 0; done < e.size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), e.size - done));
    w.spool->read_at(e.data.offset + done, buf.data(), n);
    w.data(path, buf.data(), n);
    done += n;
  }
}

void write_entry(const Writer& w, const std::string& path, const Entry& e, const Canon& c,
                 const char* link_to) {
  EntryPtr ae(archive_entry_new2(w.a));
  archive_entry_copy_pathname(ae.get(), path.c_str());
  set_metadata(ae.get(), e, c, link_to != nullptr);
  bool has_data = e.type == EntryType::file && !link_to;
  archive_entry_set_size(ae.get(), has_data ? static_cast<la_int64_t>(e.size) : 0);
  if (link_to) archive_entry_copy_hardlink(ae.get(), link_to);
  w.check(archive_write_header(w.a, ae.get()), path);
  if (!has_data || e.size == 0) return;
  if (e.data.kind == DataSource::Kind::disk)
    copy_disk_file(w, path, e);
  else if (e.data.kind == DataSource::Kind::spool)
    copy_spooled(w, path, e);
  else
    throw RuntimeError("internal: file '" + path + "' has no data source");
}

void write_all(const Writer& w, const Tree& tree, const Canon& canon) {
  std::map<uint64_t, std::string> group_first;  // link group -> path that carries the data
  for (const auto& [path, e] : tree.entries()) {
    const char* link_to = nullptr;
    if (e.link_group) {
      auto [it, fresh] = group_first.try_emplace(e.link_group, path);
      if (!fresh) link_to = it->second.c_str();
    }
    write_entry(w, path, e, canon, link_to);
  }
}

}  // namespace

size_t emit_tar(const Tree& tree, const Spool* spool, const Canon& canon, const ByteSink& sink) {
  Utf8Locale locale;
  if (!locale.active())
    log::warn("the C.UTF-8 locale is missing; non-ASCII member names may not be canonical");
  WritePtr a(archive_write_new());
  Out out{&sink, nullptr, false};
  std::vector<char> buf(kChunk);
  Writer w{a.get(), out, spool, buf};
  try {
    w.check(archive_write_set_format_pax_restricted(a.get()), "format");
    // xattrs as SCHILY.xattr.* records only (what GNU tar, Go and umoci read), not also LIBARCHIVE.xattr.*.
    if (archive_write_set_format_option(a.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK)
      throw RuntimeError("this libarchive lacks the pax 'xattrheader' option; ksimg needs libarchive >= 3.6");
    w.check(archive_write_set_bytes_per_block(a.get(), 1 << 16), "block size");
    w.check(archive_write_set_bytes_in_last_block(a.get(), 1), "last block");
    w.check(archive_write_open(a.get(), &out, nullptr, write_cb, nullptr), "open");
    write_all(w, tree, canon);
    w.check(archive_write_close(a.get()), "close");
  } catch (...) {
    // Closing frees libarchive's output buffer (archive_write_fail would skip that and leak
    // it, LeakSanitizer says); the stopped callback fails the final flush at once.
    out.stopped = true;
    archive_write_close(a.get());
    throw;
  }
  return tree.entries().size();
}

}  // namespace ksimg::oci::detail
