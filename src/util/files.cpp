// Atomic writes and locks (see files.hpp). The temp-file + fsync + rename + dir-fsync
// sequence is the usual POSIX recipe for crash-safe replacement of a file.
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <sstream>

#include "util/error.hpp"

namespace ksimg::files {

std::optional<std::string> read_if_exists(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw RuntimeError(errno_text("cannot read", p.string()));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw RuntimeError(errno_text("cannot read", p.string()));
  return ss.str();
}

std::string read(const fs::path& p) {
  auto s = read_if_exists(p);
  if (!s) throw RuntimeError("cannot read " + p.string() + ": no such file");
  return *s;
}

void sync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError(errno_text("cannot open directory", dir.string()));
  ::fsync(fd);
  ::close(fd);
}

static std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream ss;
  ss << std::hex << rng();
  return ss.str();
}

AtomicFile::AtomicFile(fs::path dest, int mode) : dest_(std::move(dest)) {
  tmp_ = dest_;
  tmp_ += ".tmp-" + std::to_string(::getpid()) + "-" + random_suffix();
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd_ < 0) throw RuntimeError(errno_text("cannot create", tmp_.string()));
  ::fchmod(fd_, mode);  // not subject to the umask, so every writer produces the same mode
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) ::unlink(tmp_.c_str());
}

void AtomicFile::write(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError(errno_text("cannot write", tmp_.string()));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void AtomicFile::commit() { commit_to(dest_); }

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!done_) ::unlink(tmp_.c_str());
  done_ = true;
}

void AtomicFile::commit_to(const fs::path& dest) {
  if (done_ || fd_ < 0) throw RuntimeError("internal: " + tmp_.string() + " was already committed or discarded");
  if (::fsync(fd_) != 0) throw RuntimeError(errno_text("cannot fsync", tmp_.string()));
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw RuntimeError(errno_text("cannot close", tmp_.string()));
  }
  fd_ = -1;
  if (::rename(tmp_.c_str(), dest.c_str()) != 0)
    throw RuntimeError(errno_text("cannot rename into place", dest.string()));
  done_ = true;
  sync_dir(dest.parent_path());
}

void write_atomic(const fs::path& dest, std::string_view data, int mode) {
  AtomicFile f(dest, mode);
  f.write(data);
  f.commit();
}

FileLock::FileLock(const fs::path& path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RuntimeError(errno_text("cannot open lock file", path.string()));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    ::close(fd_);
    throw RuntimeError(errno_text("cannot lock", path.string()));
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace ksimg::files
