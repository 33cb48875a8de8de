// Progress line (see progress.hpp): "\r<label>  <done>/<total>  <pct>%  <rate>/s" with the
// line cleared ("\r\033[K") before each redraw and on destruction.
#include "util/progress.hpp"

#include <cstdio>
#include <iostream>

#include "util/log.hpp"

namespace ksimg {

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      active_(log::stderr_is_tty() && log::level() >= log::Level::normal),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (active_) std::cerr << "\r\033[K" << std::flush;
}

std::string Progress::bytes(uint64_t n) {
  char buf[32];
  if (n >= (uint64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", n / 1073741824.0);
  else if (n >= (uint64_t{1} << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", n / 1048576.0);
  else if (n >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", n / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  return buf;
}

void Progress::add(uint64_t n) {
  std::lock_guard lk(mu_);
  done_ += n;
  draw(false);
}

void Progress::set(uint64_t d) {
  std::lock_guard lk(mu_);
  done_ = d;
  draw(false);
}

void Progress::draw(bool force) {
  if (!active_) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < std::chrono::milliseconds(125)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  std::string line = label_ + "  " + bytes(done_);
  if (total_) line += " / " + bytes(total_) + "  " + std::to_string(done_ * 100 / total_) + "%";
  if (secs > 0.2) line += "  " + bytes(static_cast<uint64_t>(done_ / secs)) + "/s";
  std::cerr << "\r\033[K" << line << std::flush;
}

}  // namespace ksimg
