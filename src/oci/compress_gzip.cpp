// Sliced gzip for tar+gzip layers: the tar stream is cut into fixed-size slices and each
// slice becomes one complete gzip member (RFC 1952 §2.2: a gzip file is a series of members),
// made by libdeflate_gzip_compress() at one pinned level. A member depends only on its slice,
// the level and the libdeflate version, so the blob is the same for any thread count and on
// any CPU (libdeflate's CPU-specific code paths give identical output). Slices are compressed
// on worker threads, each with its own libdeflate compressor; a writer thread joins the
// members in order, hashes them (blob digest) and writes them. At most 2 x threads slices are
// in flight, so memory stays bounded. The same layout as eStargz and BGZF: every gzip reader
// decompresses the members as one stream.
#include <libdeflate.h>

#include <future>
#include <thread>
#include <vector>

#include "oci/detail/compress.hpp"
#include "util/error.hpp"

namespace ksimg::oci::detail {

namespace {

struct Job {
  std::string in;
  std::promise<std::string> out;
};
using JobPtr = std::shared_ptr<Job>;

using DeflatePtr = std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)>;

DeflatePtr new_compressor() {
  DeflatePtr c(libdeflate_alloc_compressor(kGzipLevel), libdeflate_free_compressor);
  if (!c) throw RuntimeError("libdeflate: cannot allocate a compressor (out of memory)");
  return c;
}

std::string gzip_member(libdeflate_compressor* c, const std::string& in) {
  std::string out(libdeflate_gzip_compress_bound(c, in.size()), '\0');
  size_t n = libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size());
  if (n == 0) throw RuntimeError("libdeflate: the compressed slice did not fit its bound");
  out.resize(n);
  return out;
}

class GzipSliced final : public Compressor {
 public:
  GzipSliced(int fd, unsigned threads)
      : out_(fd),
        threads_(threads == 0 ? compression_threads() : threads),
        jobs_(threads_),
        order_(2 * threads_ - 1) {  // + the one the writer holds = 2 x threads in flight
    for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { work(); });
    writer_ = std::thread([this] { write_out(); });
    cur_.reserve(kGzipSlice);
  }
  ~GzipSliced() override { stop(); }

  void write(const char* data, size_t n) override {
    while (n > 0) {
      size_t take = std::min(n, kGzipSlice - cur_.size());
      cur_.append(data, take);
      data += take;
      n -= take;
      if (cur_.size() == kGzipSlice) submit();
    }
  }

  BlobStats finish() override {
    if (!cur_.empty() || submitted_ == 0) submit();  // an empty stream is one empty member
    stop();
    if (error_) std::rethrow_exception(error_);
    return stats_;
  }

 private:
  void submit() {
    auto job = std::make_shared<Job>();
    job->in = std::move(cur_);
    cur_.clear();
    cur_.reserve(kGzipSlice);
    ++submitted_;
    if (!order_.push(job->out.get_future()) || !jobs_.push(std::move(job))) {
      stop();
      if (error_) std::rethrow_exception(error_);
      throw RuntimeError("internal: gzip pipeline closed early");
    }
  }

  void work() {
    try {
      auto c = new_compressor();
      while (auto j = jobs_.pop()) {
        try {
          (*j)->out.set_value(gzip_member(c.get(), (*j)->in));
        } catch (...) {
          (*j)->out.set_exception(std::current_exception());
        }
      }
    } catch (...) {  // no compressor: fail every job this worker takes
      while (auto j = jobs_.pop()) (*j)->out.set_exception(std::current_exception());
    }
  }

  void write_out() {
    try {
      while (auto f = order_.pop()) {
        std::string member = f->get();
        out_.write(member.data(), member.size());
      }
      stats_ = out_.finish();
    } catch (...) {
      error_ = std::current_exception();
      order_.close();
      while (auto f = order_.pop()) f->wait();  // let queued slices finish before teardown
    }
  }

  void stop() {
    order_.close();
    if (writer_.joinable()) writer_.join();
    jobs_.close();
    for (auto& w : workers_)
      if (w.joinable()) w.join();
  }

  BlobOutput out_;
  unsigned threads_;
  std::string cur_;
  size_t submitted_ = 0;
  BoundedQueue<JobPtr> jobs_;
  BoundedQueue<std::future<std::string>> order_;
  std::vector<std::thread> workers_;
  std::thread writer_;
  std::exception_ptr error_;
  BlobStats stats_;
};

}  // namespace

const char* libdeflate_version() {
  return LIBDEFLATE_VERSION_STRING;
}

std::unique_ptr<Compressor> make_gzip(int fd, unsigned threads) {
  return std::make_unique<GzipSliced>(fd, threads);
}

}  // namespace ksimg::oci::detail
