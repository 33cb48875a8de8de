// podman/skopeo invocation (see podman.hpp). Images are copied from the layout with
// `skopeo copy oci:<layout>:<tag> containers-storage:<name>` (podman pull would name them
// after the layout's path), and run with --pull=never so a missing image is an error, not a
// registry lookup. run_attached (host `ksimg kbuild`) runs podman on our own stdio and passes
// stop signals on, so a long build streams its progress and a cancel reaches the container.
// Every run passes `--ulimit nofile=H:H` when the caller's hard RLIMIT_NOFILE H is below podman's
// built-in default (1048576), and `--ulimit nproc=N:N` (N = the hard RLIMIT_NPROC, at most
// kernel.pid_max, to which podman lowers its own limit) when N is below podman's default:
// without CAP_SYS_RESOURCE runc cannot raise them ("error setting rlimit type 7" or "type 6"),
// and per-run flags fix that without touching the user's containers.conf.
#include "run/podman.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstdlib>

#include "run/attached.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::run {

static void require(const char* program, const char* package) {
  if (!subprocess::find_program(program))
    throw RuntimeError(std::string(program) +
                       " is not installed; ksimg runs cell images with it (apt-get install " + package + ")");
}

void require_podman() {
  require("podman", "podman");
}

std::string podman_unusable() {
  if (!subprocess::find_program("podman")) return "podman is not installed";
  std::vector<std::string> argv{"podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"};
  auto r = subprocess::run(argv);
  return r.ok() ? "" : "podman does not work here (" + subprocess::describe_failure(argv, r) + ")";
}

std::string local_name(const std::string& tag) {
  return "localhost/kernelsmith:" + tag;
}

std::string load(const std::filesystem::path& layout, const std::string& tag, const std::string& arch) {
  require("skopeo", "skopeo");
  require_podman();
  std::string name = local_name(tag);
  std::vector<std::string> argv{"skopeo"};
  if (!arch.empty()) argv.insert(argv.end(), {"--override-arch", arch});
  argv.insert(argv.end(), {"copy", "--quiet", "oci:" + std::filesystem::absolute(layout).string() + ":" + tag,
                           "containers-storage:" + name});
  auto r = subprocess::run(argv);
  if (!r.ok())
    throw RuntimeError("cannot load " + tag + " into podman: " + subprocess::describe_failure(argv, r));
  log::info("loaded " + name);
  return name;
}

std::vector<std::string> ulimit_args(const Limits& l) {
  std::vector<std::string> a;
  if (l.nofile < podman_default_nofile)
    a.push_back("--ulimit=nofile=" + std::to_string(l.nofile) + ":" + std::to_string(l.nofile));
  uint64_t nproc = std::min(l.nproc, l.pid_max);
  if (nproc < podman_default_nproc)
    a.push_back("--ulimit=nproc=" + std::to_string(nproc) + ":" + std::to_string(nproc));
  return a;
}

static uint64_t hard_limit(int resource, uint64_t unlimited) {
  struct rlimit rl = {};
  if (getrlimit(resource, &rl) != 0 || rl.rlim_max == RLIM_INFINITY) return unlimited;
  return static_cast<uint64_t>(rl.rlim_max);
}

Limits host_limits() {
  Limits l;
  l.nofile = hard_limit(RLIMIT_NOFILE, podman_default_nofile);
  l.nproc = hard_limit(RLIMIT_NPROC, podman_default_nproc);
  auto pid_max = files::read_if_exists("/proc/sys/kernel/pid_max");
  l.pid_max = pid_max ? std::strtoull(pid_max->c_str(), nullptr, 10) : podman_default_nproc;
  if (l.pid_max == 0) l.pid_max = podman_default_nproc;
  return l;
}

std::string explain_rlimit(const std::string& podman_err) {
  if (podman_err.find("error setting rlimit") == std::string::npos) return "";
  return "podman could not apply its ulimits on this host (no CAP_SYS_RESOURCE; hard limits: `ulimit -Hn` " +
         std::to_string(host_limits().nofile) +
         "); set default_ulimits within them in the containers.conf you use (CONTAINERS_CONF), "
         "e.g. [\"nofile=4096:4096\", \"nproc=4096:4096\"], or use --runtime builtin where available";
}

std::vector<std::string> podman_run_argv(const std::string& image, const std::vector<std::string>& argv,
                                         const RunOptions& o) {
  std::vector<std::string> a{"podman", "run", "--rm", "--pull=" + (o.pull.empty() ? "never" : o.pull)};
  for (auto& u : ulimit_args(host_limits())) a.push_back(std::move(u));
  if (!o.network_mode.empty())
    a.push_back("--network=" + o.network_mode);
  else if (!o.network)
    a.push_back("--network=none");
  if (!o.platform.empty()) a.push_back("--platform=" + o.platform);
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

int run_attached(const std::string& image, const std::vector<std::string>& argv, const RunOptions& o) {
  require_podman();
  return spawn_attached(podman_run_argv(image, argv, o));
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
