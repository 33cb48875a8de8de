// Errors and exit codes. Every failure is an exception carrying the exit code
// the CLI returns; `cli` catches them once and prints one line (see README "Exit codes").
#pragma once
#include <stdexcept>
#include <string>

namespace ksimg {

enum class Exit : int {
  ok = 0,
  failure = 1,    // runtime failure: I/O, network, a build step, a peer tool
  usage = 2,      // bad input: flags, malformed version, unknown arch, unsupported cell
  integrity = 3,  // bytes that do not match their digest, corrupt archive or store
  data = 4,       // the project's own data files (matrix/, recipes/, layers/) are invalid
};

// A failure to report to the user: `what()` is the one-line message (problem and fix).
class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& msg) : std::runtime_error(msg), code_(code) {}
  Exit code() const { return code_; }

 private:
  Exit code_;
};

// Shorthands for the common kinds.
struct UsageError : Error {
  explicit UsageError(const std::string& m) : Error(Exit::usage, m) {}
};
struct RuntimeError : Error {
  explicit RuntimeError(const std::string& m) : Error(Exit::failure, m) {}
};
struct IntegrityError : Error {
  explicit IntegrityError(const std::string& m) : Error(Exit::integrity, m) {}
};
struct DataError : Error {
  explicit DataError(const std::string& m) : Error(Exit::data, m) {}
};

// "strerror(errno)" with the operation and path, for RuntimeError messages.
std::string errno_text(const std::string& what, const std::string& path);

// One line for an exception that is not an Error (std::filesystem, nlohmann::json, the
// standard library): a filesystem error as "OPERATION PATH: strerror" (what() would read
// "filesystem error: OPERATION: strerror [PATH]"), anything else as its what().
std::string describe_exception(const std::exception& e);

// The Error for an unexpected failure of `step` in `program`: the step, what failed (with
// its path), that it is a bug, and what to attach to the report. Exit code 1.
RuntimeError internal_error(const std::string& program, const std::string& step, const std::exception& e,
                            const std::string& attach);

}  // namespace ksimg
