// Internal: streaming compressors that run on their own threads and produce the blob
// digest as they write (the caller's thread only builds the tar and its diff_id).
#pragma once
#include <cstddef>
#include <memory>

#include "oci/detail/pipeline.hpp"

namespace ksimg::oci::detail {

class Compressor {
 public:
  virtual ~Compressor() = default;
  // Queues uncompressed bytes; may block when the workers are behind.
  virtual void write(const char* data, size_t n) = 0;
  // Flushes, joins the threads and returns the compressed blob's digest and size.
  virtual BlobStats finish() = 0;
};

// The pinned gzip profile (layer.hpp, docs/oci.md): slice size and libdeflate level.
inline constexpr size_t kGzipSlice = size_t{1} << 20;
inline constexpr int kGzipLevel = 6;
// LIBDEFLATE_VERSION_STRING of the libdeflate this ksimg was built with, e.g. "1.14".
const char* libdeflate_version();

// Sliced gzip, one member per slice (see layer.hpp); writes to `fd`. threads 0 = every core.
std::unique_ptr<Compressor> make_gzip(int fd, unsigned threads = 0);
// zstd in multithreaded mode (see layer.hpp); writes to `fd`. threads 0 = every core.
std::unique_ptr<Compressor> make_zstd(int fd, unsigned threads = 0);

}  // namespace ksimg::oci::detail
