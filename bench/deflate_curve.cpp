// The level x slice-size curve behind ksimg's gzip profile (bench/README.md "curve.sh"):
// reads one tar file into memory, then for each (level, slice size) compresses every slice
// as one gzip member with libdeflate on T threads (compression alone: no tar, no hashing, no
// writing) and prints "level slice_KiB threads wall_s cpu_s bytes" per line. cpu_s (user +
// sys of the process) is the figure to compare on a busy machine; wall_s needs a quiet one.
// Build: g++ -O2 -std=c++20 bench/deflate_curve.cpp -ldeflate -pthread
// Usage: deflate_curve TAR THREADS LEVELS SLICES_KIB   e.g. deflate_curve t.tar 2 3,6,9 256,1024
#include <libdeflate.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

static double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static std::vector<long> list(const char* s) {
  std::vector<long> v;
  std::stringstream in(s);
  for (std::string x; std::getline(in, x, ',');) v.push_back(std::stol(x));
  return v;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s TAR THREADS LEVELS SLICES_KIB\n", argv[0]);
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  std::string tar((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  unsigned threads = static_cast<unsigned>(std::stoul(argv[2]));
  for (long level : list(argv[3]))
    for (long kib : list(argv[4])) {
      size_t slice = static_cast<size_t>(kib) * 1024, n = (tar.size() + slice - 1) / slice;
      std::atomic<size_t> next{0}, bytes{0};
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      std::vector<std::thread> ws;
      for (unsigned t = 0; t < threads; ++t)
        ws.emplace_back([&] {
          auto* c = libdeflate_alloc_compressor(static_cast<int>(level));
          std::vector<char> out(libdeflate_gzip_compress_bound(c, slice));
          for (size_t i; (i = next++) < n;) {
            size_t len = std::min(slice, tar.size() - i * slice);
            bytes += libdeflate_gzip_compress(c, tar.data() + i * slice, len, out.data(), out.size());
          }
          libdeflate_free_compressor(c);
        });
      for (auto& w : ws) w.join();
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf("%ld %ld %u %.2f %.2f %zu\n", level, kib, threads, s, cpu_seconds() - c0, bytes.load());
      std::fflush(stdout);
    }
}
