// Spool file for archive-sourced file data (detail/spool.hpp): O_TMPFILE where the
// filesystem supports it, else mkstemp + unlink; either way nothing is left behind.
#include "oci/detail/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "util/error.hpp"

namespace ksimg::oci::detail {

Spool::Spool(const std::filesystem::path& dir)
    : dir_(dir.empty() ? std::filesystem::temp_directory_path() : dir) {
  std::filesystem::create_directories(dir_);
#ifdef O_TMPFILE
  fd_ = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd_ < 0) {
    std::string tmpl = (dir_ / "ksimg-spool-XXXXXX").string();
    fd_ = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd_ < 0) throw RuntimeError(errno_text("cannot create a spool file in", dir_.string()));
    ::unlink(tmpl.c_str());
  }
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

void Spool::append(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::pwrite(fd_, p, n, static_cast<off_t>(end_));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw RuntimeError(errno_text("cannot write the spool file in", dir_.string()));
    p += w;
    n -= static_cast<size_t>(w);
    end_ += static_cast<uint64_t>(w);
  }
}

void Spool::append_hole(uint64_t n) {
  if (n == 0) return;
  if (::ftruncate(fd_, static_cast<off_t>(end_ + n)) != 0)
    throw RuntimeError(errno_text("cannot grow the spool file in", dir_.string()));
  end_ += n;
}

void Spool::read_at(uint64_t offset, void* buf, size_t n) const {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd_, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw RuntimeError(errno_text("cannot read back the spool file in", dir_.string()));
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

}  // namespace ksimg::oci::detail
