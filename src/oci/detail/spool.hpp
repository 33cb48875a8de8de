// Internal: an anonymous temp file that holds the bytes of files streamed from archives,
// so entries can be written later in canonical order without keeping them in memory.
#pragma once
#include <cstdint>
#include <filesystem>

namespace ksimg::oci::detail {

class Spool {
 public:
  // Creates an unlinked temp file in `dir` (the system temp dir when empty).
  explicit Spool(const std::filesystem::path& dir);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends bytes at the end (read end() first to know where they start).
  void append(const void* data, size_t n);
  // Appends n zero bytes as a hole (ftruncate), so a sparse member costs no disk here.
  void append_hole(uint64_t n);
  uint64_t end() const { return end_; }
  // Reads exactly n bytes at `offset`; throws RuntimeError on short reads.
  void read_at(uint64_t offset, void* buf, size_t n) const;

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
  uint64_t end_ = 0;
};

}  // namespace ksimg::oci::detail
