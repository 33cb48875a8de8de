// Internal: the pieces of the compression pipeline shared by gzip and zstd: a bounded
// queue between threads, and the blob output (sha256 of the compressed bytes + file write).
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "oci/digest.hpp"

namespace ksimg::oci::detail {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : cap_(capacity) {}

  // Blocks while full; returns false (dropping `v`) once the queue is closed.
  bool push(T v) {
    std::unique_lock lk(m_);
    not_full_.wait(lk, [&] { return closed_ || q_.size() < cap_; });
    if (closed_) return false;
    q_.push_back(std::move(v));
    not_empty_.notify_one();
    return true;
  }
  // Blocks while empty; nullopt when closed and drained.
  std::optional<T> pop() {
    std::unique_lock lk(m_);
    not_empty_.wait(lk, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return v;
  }
  // No more pushes; pops drain what is queued.
  void close() {
    std::lock_guard lk(m_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  std::mutex m_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  size_t cap_;
  bool closed_ = false;
};

struct BlobStats {
  Digest digest;
  uint64_t size = 0;
};

// Hashes and writes the compressed stream to a file descriptor (one thread only).
class BlobOutput {
 public:
  explicit BlobOutput(int fd) : fd_(fd) {}
  void write(const void* data, size_t n);
  BlobStats finish() { return {hash_.finish(), size_}; }

 private:
  int fd_;
  Sha256 hash_;
  uint64_t size_ = 0;
};

// Worker threads for compression: every core, at least one. The compressed bytes do not
// depend on this number (gzip blocks and zstd jobs are cut independently of it).
unsigned compression_threads();

}  // namespace ksimg::oci::detail
