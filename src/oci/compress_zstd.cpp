// zstd compression for tar+zstd layers (RFC 8878 frame), plus the shared pipeline pieces
// (detail/pipeline.hpp). libzstd runs in multithreaded mode (ZSTD_c_nbWorkers >= 1), whose
// output does not depend on the worker count (unlike single-thread mode, which differs);
// level 3 with a content checksum is the pinned profile. A consumer thread feeds libzstd,
// hashes the compressed bytes (blob digest) and writes them; libzstd's workers compress.
#include <unistd.h>
#include <zstd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <thread>
#include <vector>

#include "oci/detail/compress.hpp"
#include "util/error.hpp"

namespace ksimg::oci::detail {

// The file behind `fd`, for messages ("(temp file)" when /proc cannot say).
static std::string fd_path(int fd) {
  int saved = errno;
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  errno = saved;
  return ec ? std::string("(temp file)") : p.string();
}

void BlobOutput::write(const void* data, size_t n) {
  hash_.update(data, n);
  const char* p = static_cast<const char*>(data);
  size_ += n;
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw RuntimeError(errno_text("cannot write blob", fd_path(fd_)));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

unsigned compression_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : (n > 16 ? 16 : n);
}

namespace {

constexpr int kLevel = 3;
constexpr size_t kChunk = 1 << 20;

void check(size_t rc, const char* what) {
  if (ZSTD_isError(rc)) throw RuntimeError(std::string("zstd: ") + what + ": " + ZSTD_getErrorName(rc));
}

class ZstdMt final : public Compressor {
 public:
  ZstdMt(int fd, unsigned threads) : out_(fd), cctx_(ZSTD_createCCtx(), ZSTD_freeCCtx), queue_(4) {
    if (!cctx_) throw RuntimeError("zstd: cannot create a compression context");
    check(ZSTD_CCtx_setParameter(cctx(), ZSTD_c_compressionLevel, kLevel), "level");
    check(ZSTD_CCtx_setParameter(cctx(), ZSTD_c_checksumFlag, 1), "checksum");
    size_t rc = ZSTD_CCtx_setParameter(cctx(), ZSTD_c_nbWorkers,
                                       static_cast<int>(threads == 0 ? compression_threads() : threads));
    if (ZSTD_isError(rc))
      throw RuntimeError(
          "this libzstd was built without multithreading, which the pinned zstd profile needs");
    cur_.reserve(kChunk);
    thread_ = std::thread([this] { consume(); });
  }
  ~ZstdMt() override {
    abort_ = true;
    stop();
  }

  void write(const char* data, size_t n) override {
    cur_.append(data, n);
    if (cur_.size() >= kChunk) push();
  }

  BlobStats finish() override {
    if (!cur_.empty()) push();
    stop();
    if (error_) std::rethrow_exception(error_);
    return stats_;
  }

 private:
  void push() {
    if (!queue_.push(std::move(cur_))) {
      stop();
      if (error_) std::rethrow_exception(error_);
      throw RuntimeError("internal: zstd pipeline closed early");
    }
    cur_.clear();
    cur_.reserve(kChunk);
  }

  ZSTD_CCtx* cctx() const { return cctx_.get(); }

  void stop() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
  }

  // Runs libzstd until `in` is consumed (or, with ZSTD_e_end, until the frame is complete).
  void run(ZSTD_inBuffer& in, ZSTD_EndDirective mode, std::vector<char>& buf) {
    for (;;) {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      size_t left = ZSTD_compressStream2(cctx(), &o, &in, mode);
      check(left, "compress");
      out_.write(buf.data(), o.pos);
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return;
    }
  }

  void consume() {
    try {
      std::vector<char> buf(ZSTD_CStreamOutSize());
      while (auto chunk = queue_.pop()) {
        ZSTD_inBuffer in{chunk->data(), chunk->size(), 0};
        if (!abort_) run(in, ZSTD_e_continue, buf);
      }
      if (abort_) return;
      ZSTD_inBuffer none{nullptr, 0, 0};
      run(none, ZSTD_e_end, buf);
      stats_ = out_.finish();
    } catch (...) {
      error_ = std::current_exception();
      queue_.close();
    }
  }

  BlobOutput out_;
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx_;
  BoundedQueue<std::string> queue_;
  std::string cur_;
  std::thread thread_;
  std::atomic<bool> abort_{false};
  std::exception_ptr error_;
  BlobStats stats_;
};

}  // namespace

std::unique_ptr<Compressor> make_zstd(int fd, unsigned threads) {
  return std::make_unique<ZstdMt>(fd, threads);
}

}  // namespace ksimg::oci::detail
