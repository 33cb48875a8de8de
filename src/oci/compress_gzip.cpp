// Block-parallel gzip (RFC 1952 member around one RFC 1951 deflate stream), in the manner
// of pigz: the tar stream is cut into fixed 256 KiB blocks; each block is deflated on a
// worker thread at level 6, primed with the previous 32 KiB as its dictionary, and ends
// with a sync flush (the last block with the final bit). A writer thread joins the blocks
// in order, combines the per-block CRC-32s, hashes (blob digest) and writes. The bytes depend
// only on the input, zlib's deflate and the pinned parameters, never on the thread count.
// Header: no FNAME, MTIME 0, XFL 0, OS 3 (Unix).
#include <zlib.h>

#include <future>
#include <thread>
#include <vector>

#include "oci/detail/compress.hpp"
#include "util/error.hpp"

namespace ksimg::oci::detail {

namespace {

constexpr size_t kBlock = 256 * 1024;
constexpr size_t kDict = 32 * 1024;
constexpr int kLevel = 6;

struct Block {
  std::string in, dict;
  bool last = false;
};

struct Deflated {
  std::string out;
  uint32_t crc = 0;
  uint64_t len = 0;
};

Deflated deflate_block(const Block& b) {
  z_stream z{};
  if (deflateInit2(&z, kLevel, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw RuntimeError("zlib: cannot initialise deflate");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
  if (!b.dict.empty() && deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(b.dict.data()),
                                              static_cast<uInt>(b.dict.size())) != Z_OK)
    throw RuntimeError("zlib: cannot set the deflate dictionary");
  Deflated d;
  d.out.resize(deflateBound(&z, static_cast<uLong>(b.in.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.in.data()));
  z.avail_in = static_cast<uInt>(b.in.size());
  size_t produced = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(d.out.data() + produced);
    z.avail_out = static_cast<uInt>(d.out.size() - produced);
    int rc = deflate(&z, b.last ? Z_FINISH : Z_SYNC_FLUSH);
    produced = d.out.size() - z.avail_out;
    if (rc == Z_STREAM_ERROR) throw RuntimeError("zlib: deflate failed");
    if (b.last ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out > 0)) break;
    d.out.resize(d.out.size() * 2);
  }
  d.out.resize(produced);
  d.crc = static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(b.in.data()), static_cast<uInt>(b.in.size())));
  d.len = b.in.size();
  return d;
}

void put_le32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

using Task = std::shared_ptr<std::packaged_task<Deflated()>>;

class GzipParallel final : public Compressor {
 public:
  explicit GzipParallel(int fd) : out_(fd), tasks_(64), order_(2 * compression_threads() + 2) {
    for (unsigned i = 0; i < compression_threads(); ++i) workers_.emplace_back([this] { work(); });
    writer_ = std::thread([this] { write_out(); });
    cur_.reserve(kBlock);
  }
  ~GzipParallel() override { stop(); }

  void write(const char* data, size_t n) override {
    while (n > 0) {
      size_t take = std::min(n, kBlock - cur_.size());
      cur_.append(data, take);
      data += take;
      n -= take;
      if (cur_.size() == kBlock) submit(false);
    }
  }

  BlobStats finish() override {
    submit(true);
    stop();
    if (error_) std::rethrow_exception(error_);
    return stats_;
  }

 private:
  void submit(bool last) {
    std::string next_dict = cur_.size() > kDict ? cur_.substr(cur_.size() - kDict) : cur_;
    auto task = std::make_shared<std::packaged_task<Deflated()>>(
        [b = Block{std::move(cur_), std::move(dict_), last}] { return deflate_block(b); });
    dict_ = std::move(next_dict);
    cur_.clear();
    if (!order_.push(task->get_future()) || !tasks_.push(std::move(task))) {
      stop();
      if (error_) std::rethrow_exception(error_);
      throw RuntimeError("internal: gzip pipeline closed early");
    }
  }

  void work() {
    while (auto t = tasks_.pop()) (**t)();
  }

  void write_out() {
    try {
      const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
      out_.write(header, sizeof header);
      uLong crc = crc32(0L, Z_NULL, 0);
      uint64_t len = 0;
      while (auto f = order_.pop()) {
        Deflated d = f->get();
        out_.write(d.out.data(), d.out.size());
        crc = crc32_combine(crc, d.crc, static_cast<z_off_t>(d.len));
        len += d.len;
      }
      unsigned char trailer[8];
      put_le32(trailer, static_cast<uint32_t>(crc));
      put_le32(trailer + 4, static_cast<uint32_t>(len & 0xffffffffu));
      out_.write(trailer, sizeof trailer);
      stats_ = out_.finish();
    } catch (...) {
      error_ = std::current_exception();
      order_.close();
      while (auto f = order_.pop()) f->wait();  // let queued blocks finish before teardown
    }
  }

  void stop() {
    order_.close();
    if (writer_.joinable()) writer_.join();
    tasks_.close();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  BlobOutput out_;
  std::string cur_, dict_;
  BoundedQueue<Task> tasks_;
  BoundedQueue<std::future<Deflated>> order_;
  std::vector<std::thread> workers_;
  std::thread writer_;
  std::exception_ptr error_;
  BlobStats stats_;
};

}  // namespace

std::unique_ptr<Compressor> make_gzip(int fd) {
  return std::make_unique<GzipParallel>(fd);
}

}  // namespace ksimg::oci::detail
