// DirLock (see dir_lock.hpp): open(O_DIRECTORY) + flock(LOCK_EX), retried on EINTR.
#include "util/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"

namespace ksimg::files {

DirLock::DirLock(const std::filesystem::path& dir) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw RuntimeError(errno_text("cannot open directory to lock it", dir.string()));
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    ::close(fd_);
    throw RuntimeError(errno_text("cannot lock directory", dir.string()));
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace ksimg::files
