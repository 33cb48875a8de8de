// File helpers: whole-file reads, atomic writes (temp file, fsync, rename, fsync dir)
// and advisory locks, so a store shared by many processes never holds a half-written file.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ksimg::files {

namespace fs = std::filesystem;

// Reads a whole file; throws RuntimeError naming the path on failure.
std::string read(const fs::path& p);
// Like read(), but returns nullopt when the file does not exist.
std::optional<std::string> read_if_exists(const fs::path& p);

// Writes `data` to `dest` atomically: a temp file in the same directory is written,
// fsynced and renamed over `dest`, then the directory is fsynced.
void write_atomic(const fs::path& dest, std::string_view data, int mode = 0644);

// fsync a directory so a rename inside it is durable.
void sync_dir(const fs::path& dir);

// A temp file next to `dest` that is removed unless commit() renames it into place.
class AtomicFile {
 public:
  explicit AtomicFile(fs::path dest, int mode = 0644);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_; }
  const fs::path& temp_path() const { return tmp_; }
  void write(std::string_view data);
  // fsync, rename over the destination, fsync the directory.
  void commit();
  // Like commit(), but renames to `dest` instead (same filesystem), for files whose final
  // name is known only once written (content-addressed blobs).
  void commit_to(const fs::path& dest);
  // Closes and removes the temp file now (the destination is left untouched).
  void discard();

 private:
  fs::path dest_, tmp_;
  int fd_ = -1;
  bool done_ = false;
};

// An exclusive advisory lock (flock) on `path`, created if missing; released on destruction.
class FileLock {
 public:
  explicit FileLock(const fs::path& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace ksimg::files
