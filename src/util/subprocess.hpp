// Running a program with an argv vector (never through a shell), capturing its stdout and
// stderr and its exit status. Used for peer tools such as gpgv.
#pragma once
#include <csignal>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ksimg::subprocess {

struct Options {
  std::optional<std::string> input;          // bytes written to stdin (else stdin is /dev/null)
  std::map<std::string, std::string> env;    // variables set or replaced on top of ours
  std::optional<std::filesystem::path> cwd;  // working directory (else ours)
  size_t max_output = size_t{64} << 20;      // per stream; more is an error
  // Streaming: when set, both output streams are handed to this callback as they arrive
  // (true = stderr) instead of being kept in Result (long builds, logs of any size).
  std::function<void(std::string_view, bool)> on_output;
  // The child leads a new process group, so a cancel reaches its whole tree (make and gcc).
  bool new_process_group = false;
  // When *cancel becomes non-zero (set by a signal handler), the child (its group when
  // new_process_group) gets SIGTERM; run() still waits for it and returns its status.
  const volatile std::sig_atomic_t* cancel = nullptr;
};

struct Result {
  int status = 0;  // the exit code, or 128 + N when killed by signal N
  std::string out, err;
  bool ok() const { return status == 0; }
};

// Runs argv[0] (looked up in PATH when it has no slash) with the arguments argv[1..].
// Throws RuntimeError when the program cannot be started (naming it) or when an output
// stream exceeds max_output. A non-zero exit is not an error here: check Result::status.
// Never put secrets in argv: other users can read a process's command line.
Result run(const std::vector<std::string>& argv, const Options& opts = {});

// The program's path in PATH, or nullopt.
std::optional<std::filesystem::path> find_program(const std::string& name);

// "gpgv: <last non-empty line of stderr>" style summary for error messages.
std::string describe_failure(const std::vector<std::string>& argv, const Result& r);

}  // namespace ksimg::subprocess
