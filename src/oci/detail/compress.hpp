// Internal: streaming compressors that run on their own threads and produce the blob
// digest as they write (the caller's thread only builds the tar and its diff_id).
#pragma once
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

// Block-parallel gzip (see layer.hpp for the pinned profile); writes to `fd`.
std::unique_ptr<Compressor> make_gzip(int fd);
// zstd in multithreaded mode (see layer.hpp); writes to `fd`.
std::unique_ptr<Compressor> make_zstd(int fd);

}  // namespace ksimg::oci::detail
