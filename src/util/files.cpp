// Atomic writes and locks (see files.hpp). The temp-file + fsync + rename + dir-fsync
// sequence is the usual POSIX recipe for crash-safe replacement of a file.
#include "util/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
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
  // Held until the file is renamed or removed: a temp file nobody has locked belongs to a
  // writer that died (kill -9), and a cleaner may remove it (oci::Layout::create does).
  ::flock(fd_, LOCK_EX);
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

void AtomicFile::commit() {
  commit_to(dest_);
}

void AtomicFile::discard() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!done_) ::unlink(tmp_.c_str());
  done_ = true;
}

// Test hook for tests/integration/crash_safety.sh: KSIMG_CRASH_AT=commit:N kills this process
// (SIGKILL, as a crash would) at its N-th atomic commit, once the temp file is complete and
// before the rename; KSIMG_CRASH_AT=renamed:N right after the N-th rename. Unset: no effect.
static void crash_point(bool renamed) {
  static const std::pair<std::string, long> at = [] {
    const char* v = std::getenv("KSIMG_CRASH_AT");
    std::string s = v ? v : "";
    auto colon = s.find(':');
    if (colon == std::string::npos) return std::pair<std::string, long>{"", 0};
    return std::pair<std::string, long>{s.substr(0, colon), std::atol(s.c_str() + colon + 1)};
  }();
  static std::atomic<long> commits{0}, renames{0};
  if (at.second <= 0) return;
  if ((renamed ? ++renames : ++commits) == at.second && at.first == (renamed ? "renamed" : "commit"))
    ::raise(SIGKILL);
}

void AtomicFile::commit_to(const fs::path& dest) {
  if (done_ || fd_ < 0)
    throw RuntimeError("internal: " + tmp_.string() + " was already committed or discarded");
  if (::fsync(fd_) != 0) throw RuntimeError(errno_text("cannot fsync", tmp_.string()));
  crash_point(false);
  // Renamed while still open (and locked), so no cleaner can take it for a dead writer's.
  if (::rename(tmp_.c_str(), dest.c_str()) != 0)
    throw RuntimeError(errno_text("cannot rename into place", dest.string()));
  done_ = true;
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) throw RuntimeError(errno_text("cannot close", dest.string()));
  sync_dir(dest.parent_path());
  crash_point(true);
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
