// A one-line progress display on stderr for long work (downloads, layer writing). On a
// terminal it redraws one line at most ~8 times a second; elsewhere (CI logs, pipes, --quiet)
// it prints nothing, and callers log one plain line when the work is done.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace ksimg {

class Progress {
 public:
  // `label` names the work ("download gcc-10-mipsel-linux-gnu_10.2.1-6cross1_amd64.deb");
  // `total` is the expected byte count, 0 when unknown.
  Progress(std::string label, uint64_t total = 0);
  ~Progress();  // clears the line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add(uint64_t bytes);  // thread-safe
  void set(uint64_t done);   // thread-safe
  uint64_t done() const { return done_; }

  // "12.3 MiB" style sizes, shared with the plain log lines.
  static std::string bytes(uint64_t n);

 private:
  void draw(bool force);
  std::string label_;
  uint64_t total_, done_ = 0;
  bool active_;
  std::chrono::steady_clock::time_point start_, last_;
  std::mutex mu_;
};

}  // namespace ksimg
