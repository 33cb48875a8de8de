// The store's temp dirs (repo.hpp): ROOT/tmp/<kind>.XXXXXX with a lock file
// ROOT/tmp/<kind>.XXXXXX.lock that its creator holds with flock for as long as it works in
// it. `sweep` removes every dir whose lock it can take, so a kill -9 leaves garbage that the
// next run deletes, never a live process's work. The creator re-checks that the lock file it
// holds is still the one on disk (a sweeper may have unlinked it in between) and retries.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "store/repo.hpp"
#include "util/error.hpp"

namespace ksimg::store::detail {

namespace {

// True when `fd` (locked) is the inode at `path`.
bool still_linked(int fd, const fs::path& path) {
  struct stat a = {}, b = {};
  return fstat(fd, &a) == 0 && lstat(path.c_str(), &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

}  // namespace

Scratch::Scratch(const fs::path& store_root, const std::string& kind) {
  fs::path tmp = store_root / "tmp";
  fs::create_directories(tmp);
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string templ = (tmp / (kind + ".XXXXXX")).string();
    if (!mkdtemp(templ.data())) throw RuntimeError(errno_text("create a temp dir in", tmp.string()));
    dir_ = templ;
    lock_ = dir_.string() + ".lock";
    fd_ = ::open(lock_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0 && flock(fd_, LOCK_EX) == 0 && still_linked(fd_, lock_) && fs::is_directory(dir_)) return;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  throw RuntimeError("cannot create a locked temp dir in " + tmp.string());
}

Scratch::~Scratch() {
  std::error_code ec;
  if (!released_) fs::remove_all(dir_, ec);
  fs::remove(lock_, ec);
  if (fd_ >= 0) ::close(fd_);
}

void sweep(const fs::path& store_root) {
  std::error_code ec;
  fs::path tmp = store_root / "tmp";
  if (!fs::is_directory(tmp, ec)) return;
  for (const auto& e : fs::directory_iterator(tmp, ec)) {
    fs::path p = e.path();
    if (p.extension() == ".lock") continue;
    fs::path lock = p.string() + ".lock";
    int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
      fs::remove_all(p, ec);
      fs::remove(lock, ec);
    }
    ::close(fd);
  }
}

uint64_t disk_bytes(const fs::path& dir, std::set<std::pair<dev_t, ino_t>>& seen) {
  uint64_t total = 0;
  std::error_code ec;
  auto count = [&](const fs::path& p) {
    struct stat st = {};
    if (lstat(p.c_str(), &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second)
      total += static_cast<uint64_t>(st.st_blocks) * 512;
  };
  count(dir);
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    count(it->path());
  }
  return total;
}

}  // namespace ksimg::store::detail
