// stderr diagnostics (see log.hpp). One mutex so lines from worker threads do not interleave.
#include "util/log.hpp"

#include <unistd.h>

#include <atomic>
#include <iostream>
#include <mutex>

namespace ksimg::log {

namespace {
std::atomic<Level> g_level{Level::normal};
std::mutex g_mu;

void emit(const std::string& prefix, const std::string& msg) {
  std::lock_guard lk(g_mu);
  std::cerr << prefix << msg << '\n' << std::flush;
}
}  // namespace

void set_level(Level l) {
  g_level = l;
}
Level level() {
  return g_level;
}

void info(const std::string& msg) {
  if (g_level >= Level::normal) emit("", msg);
}
void warn(const std::string& msg) {
  emit("warning: ", msg);
}
void debug(const std::string& msg) {
  if (g_level >= Level::verbose) emit("debug: ", msg);
}

bool stderr_is_tty() {
  return ::isatty(STDERR_FILENO) == 1;
}

}  // namespace ksimg::log
