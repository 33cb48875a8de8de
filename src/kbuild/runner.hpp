// Runs the build's commands (make, scripts) with their whole output appended to OUT/build.log,
// a short progress line on the console now and then, and SIGTERM/SIGINT forwarded to the
// command's process group. After a failure it knows the last lines and the
// first error line of the command's output, for the console.
#pragma once
#include <chrono>
#include <csignal>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace ksimg::kbuild {

// Thrown when a SIGTERM/SIGINT arrived: the build stops, records "killed" and exits 128+signal.
struct Killed : Error {
  int signal;
  explicit Killed(int sig)
      : Error(Exit::failure, std::string("killed by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM")),
        signal(sig) {}
};

// Installs the SIGTERM/SIGINT handlers (no SA_RESTART) that set the cancel flag.
void install_signal_handlers();
// The signal that asked us to stop, or 0.
int cancel_signal();
// Throws Killed when a signal asked us to stop.
void check_cancel();
// Forgets a cancel request (tests).
void reset_cancel();

class Runner {
 public:
  Runner(std::filesystem::path log, std::map<std::string, std::string> env);
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Runs argv (its output to the log, stdin from `input` or /dev/null); returns the exit
  // status. Throws Killed after forwarding a cancel to it.
  int run(const std::vector<std::string>& argv, const std::string& label,
          const std::optional<std::string>& input = std::nullopt);
  // Runs and throws RuntimeError (with the first error line) on a non-zero exit.
  void must(const std::vector<std::string>& argv, const std::string& label,
            const std::optional<std::string>& input = std::nullopt);
  // Runs quietly, capturing stdout (also logged); throws on failure.
  std::string capture(const std::vector<std::string>& argv);

  // The last `n` output lines of the last command, and its first line that looks like an error.
  std::string tail(size_t n) const;
  const std::string& first_error() const { return first_error_; }
  int last_status() const { return last_status_; }
  const std::filesystem::path& log_path() const { return log_; }
  void note(const std::string& line);  // a line of our own in the log
  std::map<std::string, std::string>& env() { return env_; }

 private:
  void take(std::string_view chunk);
  void line(const std::string& l);
  std::filesystem::path log_;
  std::map<std::string, std::string> env_;
  int fd_ = -1;
  std::string partial_, first_error_, label_, last_action_;
  std::deque<std::string> tail_;
  size_t lines_ = 0;
  int last_status_ = 0;
  std::chrono::steady_clock::time_point start_, last_report_;
};

}  // namespace ksimg::kbuild
