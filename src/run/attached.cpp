// spawn_attached (attached.hpp): posix_spawnp on our own stdio, so a long build streams its
// progress and a --tty run gets the terminal; a stop signal is remembered by a handler and
// passed on to the child, and we keep waiting for it to finish (podman forwards it into the
// container, bwrap's sandbox dies with its child).
#include "run/attached.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "util/error.hpp"
#include "util/log.hpp"

extern char** environ;

namespace ksimg::run {

namespace {

volatile std::sig_atomic_t g_signal = 0;
extern "C" void remember_signal(int sig) {
  g_signal = sig;
}

// Installs remember_signal for the signals a user or CI sends to stop a build; restores the
// previous handlers when it goes out of scope.
struct SignalRelay {
  static constexpr int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old[3] = {};
  SignalRelay() {
    g_signal = 0;
    struct sigaction sa = {};
    sa.sa_handler = remember_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(sigs[i], &sa, &old[i]);
  }
  ~SignalRelay() {
    for (int i = 0; i < 3; ++i) sigaction(sigs[i], &old[i], nullptr);
  }
};

}  // namespace

int spawn_attached(const std::vector<std::string>& args) {
  std::vector<std::string> copy = args;
  std::vector<char*> cargv;
  for (auto& a : copy) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  SignalRelay relay;
  pid_t pid = 0;
  if (int err = posix_spawnp(&pid, cargv[0], nullptr, nullptr, cargv.data(), environ); err != 0)
    throw RuntimeError("cannot start " + args[0] + ": " + std::string(std::strerror(err)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError(errno_text("wait for", args[0]));
    if (int sig = g_signal; sig != 0) {
      g_signal = 0;
      log::warn("passing signal " + std::to_string(sig) + " on to " + args[0] + "; waiting for it to stop");
      kill(pid, sig);
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace ksimg::run
