// Command runner with a build log (see runner.hpp). Commands run through util/subprocess
// (argv, no shell) in a new process group, streaming; the signal handlers only set a flag
// that subprocess polls, so all real work happens outside signal context.
#include "kbuild/runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <regex>

#include "kbuild/plan.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace {

volatile std::sig_atomic_t g_cancel = 0;

extern "C" void on_signal(int sig) {
  g_cancel = sig;
}

std::string elapsed(std::chrono::steady_clock::duration d) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  return s >= 60 ? std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s" : std::to_string(s) + "s";
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR and the runner looks at the flag
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

int cancel_signal() {
  return g_cancel;
}

void reset_cancel() {
  g_cancel = 0;
}

void check_cancel() {
  if (g_cancel) throw Killed(g_cancel);
}

Runner::Runner(std::filesystem::path log, std::map<std::string, std::string> env)
    : log_(std::move(log)), env_(std::move(env)) {
  fd_ = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RuntimeError(errno_text("cannot open the build log", log_.string()));
}

Runner::~Runner() {
  if (fd_ >= 0) ::close(fd_);
}

void Runner::note(const std::string& l) {
  std::string s = l + "\n";
  if (::write(fd_, s.data(), s.size()) < 0) {
  }  // the log is best effort; the console still has the message
}

void Runner::line(const std::string& l) {
  ++lines_;
  tail_.push_back(l);
  if (tail_.size() > 200) tail_.pop_front();
  static const std::regex err(R"((error:|Error [0-9]+|\*\*\*|undefined reference|: fatal |No such file))");
  if (first_error_.empty() && std::regex_search(l, err)) first_error_ = l;
  if (l.size() > 2 && l.rfind("  ", 0) == 0) last_action_ = l.substr(2);
  auto now = std::chrono::steady_clock::now();
  if (now - last_report_ > std::chrono::seconds(30)) {
    last_report_ = now;
    log::info("  " + label_ + ": " + elapsed(now - start_) + ", " + std::to_string(lines_) + " lines" +
              (last_action_.empty() ? "" : ", at " + last_action_));
  }
}

void Runner::take(std::string_view chunk) {
  if (::write(fd_, chunk.data(), chunk.size()) < 0) {
  }
  partial_.append(chunk);
  size_t pos;
  while ((pos = partial_.find('\n')) != std::string::npos) {
    line(partial_.substr(0, pos));
    partial_.erase(0, pos + 1);
  }
}

int Runner::run(const std::vector<std::string>& argv, const std::string& label,
                const std::optional<std::string>& input) {
  check_cancel();
  note("$ " + shell_join(argv));
  label_ = label;
  tail_.clear();
  first_error_.clear();
  last_action_.clear();
  lines_ = 0;
  start_ = last_report_ = std::chrono::steady_clock::now();
  subprocess::Options o;
  o.env = env_;
  o.input = input;
  o.on_output = [this](std::string_view c, bool) { take(c); };
  o.new_process_group = true;
  o.cancel = &g_cancel;
  auto r = subprocess::run(argv, o);
  if (!partial_.empty()) line(partial_), partial_.clear();
  last_status_ = r.status;
  check_cancel();
  return r.status;
}

void Runner::must(const std::vector<std::string>& argv, const std::string& label,
                  const std::optional<std::string>& input) {
  int st = run(argv, label, input);
  if (st != 0)
    throw RuntimeError(label + " failed (exit status " + std::to_string(st) + ")" +
                       (first_error_.empty() ? "" : ": " + first_error_));
}

std::string Runner::capture(const std::vector<std::string>& argv) {
  check_cancel();
  note("$ " + shell_join(argv));
  subprocess::Options o;
  o.env = env_;
  auto r = subprocess::run(argv, o);
  note(r.out + r.err);
  if (!r.ok()) throw RuntimeError(subprocess::describe_failure(argv, r));
  return r.out;
}

std::string Runner::tail(size_t n) const {
  std::string s;
  size_t skip = tail_.size() > n ? tail_.size() - n : 0;
  for (size_t i = skip; i < tail_.size(); ++i) s += tail_[i] + "\n";
  return s;
}

}  // namespace ksimg::kbuild
