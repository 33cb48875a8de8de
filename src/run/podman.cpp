// podman/skopeo invocation (see podman.hpp). Images are copied from the layout with
// `skopeo copy oci:<layout>:<tag> containers-storage:<name>` (podman pull would name them
// after the layout's path), and run with --pull=never so a missing image is an error, not a
// registry lookup. run_attached (host `ksimg kbuild`) runs podman on our own stdio and passes
// stop signals on, so a long build streams its progress and a cancel reaches the container.
#include "run/podman.hpp"

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

static void require(const char* program, const char* package) {
  if (!subprocess::find_program(program))
    throw RuntimeError(std::string(program) +
                       " is not installed; ksimg runs cell images with it (apt-get install " + package + ")");
}

void require_podman() {
  require("podman", "podman");
}

std::string local_name(const std::string& tag) {
  return "localhost/kernelsmith:" + tag;
}

std::string load(const std::filesystem::path& layout, const std::string& tag) {
  require("skopeo", "skopeo");
  require_podman();
  std::string name = local_name(tag);
  std::vector<std::string> argv{"skopeo", "copy", "--quiet",
                                "oci:" + std::filesystem::absolute(layout).string() + ":" + tag,
                                "containers-storage:" + name};
  auto r = subprocess::run(argv);
  if (!r.ok())
    throw RuntimeError("cannot load " + tag + " into podman: " + subprocess::describe_failure(argv, r));
  log::info("loaded " + name);
  return name;
}

std::vector<std::string> podman_run_argv(const std::string& image, const std::vector<std::string>& argv,
                                         const RunOptions& o) {
  std::vector<std::string> a{"podman", "run", "--rm", "--pull=" + (o.pull.empty() ? "never" : o.pull)};
  if (!o.network_mode.empty())
    a.push_back("--network=" + o.network_mode);
  else if (!o.network)
    a.push_back("--network=none");
  if (!o.userns.empty()) a.push_back("--userns=" + o.userns);
  if (!o.user.empty()) a.push_back("--user=" + o.user);
  if (o.tty) {
    a.push_back("--tty");
    a.push_back("--interactive");
  }
  for (const auto& m : o.mounts)
    a.push_back("--volume=" + std::filesystem::absolute(m.host).string() + ":" + m.container +
                (m.read_only ? ":ro" : ":rw"));
  for (const auto& [k, v] : o.env) a.push_back("--env=" + k + "=" + v);
  if (!o.workdir.empty()) a.push_back("--workdir=" + o.workdir);
  a.push_back(image);
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

void run_as_caller(RunOptions& o, unsigned euid) {
  if (euid == 0) {
    o.user = "0:0";
    o.userns.clear();
  } else {
    o.userns = "keep-id";
    o.user.clear();
  }
}

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

int run_attached(const std::string& image, const std::vector<std::string>& argv, const RunOptions& o) {
  require_podman();
  auto args = podman_run_argv(image, argv, o);
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  SignalRelay relay;
  pid_t pid = 0;
  if (int err = posix_spawnp(&pid, "podman", nullptr, nullptr, cargv.data(), environ); err != 0)
    throw RuntimeError("cannot start podman: " + std::string(std::strerror(err)));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw RuntimeError(errno_text("wait for podman", image));
    if (int sig = g_signal; sig != 0) {
      g_signal = 0;
      log::warn("passing signal " + std::to_string(sig) + " on to podman; waiting for the container to stop");
      kill(pid, sig);
    }
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

bool image_exists(const std::string& image) {
  require_podman();
  return subprocess::run({"podman", "image", "exists", image}).ok();
}

std::string image_label(const std::string& image, const std::string& key) {
  return image_field(image, "{{index .Labels \"" + key + "\"}}");
}

std::string image_field(const std::string& image, const std::string& format) {
  require_podman();
  std::vector<std::string> argv{"podman", "image", "inspect", "--format", format, image};
  auto r = subprocess::run(argv);
  if (!r.ok()) throw RuntimeError("cannot inspect " + image + ": " + subprocess::describe_failure(argv, r));
  std::string v = r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
  return v == "<no value>" ? "" : v;
}

subprocess::Result run_in(const std::string& image, const std::vector<std::string>& argv,
                          const RunOptions& o) {
  require_podman();
  return subprocess::run(podman_run_argv(image, argv, o));
}

}  // namespace ksimg::run
