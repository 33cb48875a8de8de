// An exclusive advisory lock (flock) on an existing directory: for a file that is replaced by
// rename (its inode changes, so it cannot be the lock itself) in a directory that must not
// gain a lock file of ours (the user's images.lock.json). Released on destruction.
#pragma once
#include <filesystem>

namespace ksimg::files {

class DirLock {
 public:
  explicit DirLock(const std::filesystem::path& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace ksimg::files
