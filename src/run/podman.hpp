// Running cell images with podman: putting an image of an OCI layout into podman's local
// storage (via skopeo, as localhost/kernelsmith:<tag>) and running a command in it. podman's
// own configuration applies (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF); ksimg never edits it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/subprocess.hpp"

namespace ksimg::run {

struct Mount {
  std::filesystem::path host;
  std::string container;
  bool read_only = true;
};

struct RunOptions {
  bool network = false;      // --network=none unless true
  std::string network_mode;  // --network=<mode> ("host") when set; overrides `network`
  std::vector<Mount> mounts;
  std::map<std::string, std::string> env;
  std::string workdir;
  std::string user;            // --user ("0:0"); empty: the image's user
  std::string userns;          // --userns ("keep-id"); empty: podman's default
  bool tty = false;            // --tty --interactive (attached runs on a terminal)
  std::string pull = "never";  // --pull: never (local images only), missing, always
  std::string platform;  // --platform ("linux/arm64": run under qemu-user binfmt on amd64); "" = the host's
};

// Makes files the container writes into mounts belong to the caller (`euid`): rootless podman
// maps the caller to the same uid inside (--userns=keep-id); as root, --user 0:0 writes root's
// files, which are the caller's.
void run_as_caller(RunOptions& o, unsigned euid);

// Why podman cannot run containers here ("" when `podman info` answers): not installed, or
// its message. For --runtime auto.
std::string podman_unusable();

// Throws RuntimeError naming the Debian package when podman (or, for load, skopeo) is missing.
void require_podman();

// "localhost/kernelsmith:<tag>": the name `load` gives an image in podman's storage.
std::string local_name(const std::string& tag);

// Copies `tag` of the layout at `layout` into podman's storage as local_name(tag); returns it.
// When `tag` is a multi-platform image (an index), `arch` ("amd64", "arm64") picks the
// platform; empty = this machine's.
std::string load(const std::filesystem::path& layout, const std::string& tag, const std::string& arch = "");

// Runs `argv` in `image` (never pulls: the image must be local). Returns the result; a
// failure to start podman is a RuntimeError, a non-zero exit is the caller's to judge.
subprocess::Result run_in(const std::string& image, const std::vector<std::string>& argv,
                          const RunOptions& o = {});

// Runs `argv` in `image` attached to our stdin/stdout/stderr (output streams as it comes, a
// --tty run gets the terminal) and returns its exit status (128 + N when killed by signal N).
// While it runs, SIGINT, SIGTERM and SIGHUP sent to ksimg are passed on to podman, which
// forwards them into the container, and ksimg waits for it to finish. Statuses 125-127 are
// podman's own (it could not run the container); the caller reports them.
int run_attached(const std::string& image, const std::vector<std::string>& argv, const RunOptions& o);

// True when podman's storage has `image` (podman image exists).
bool image_exists(const std::string& image);

// `podman image inspect --format FORMAT image`, trimmed ("<no value>" reads as empty).
// RuntimeError when podman cannot inspect it.
std::string image_field(const std::string& image, const std::string& format);

// The value of label `key` of local image `image`; empty when absent.
std::string image_label(const std::string& image, const std::string& key);

// podman's built-in default RLIMIT_NOFILE and RLIMIT_NPROC for containers (containers/common).
inline constexpr uint64_t podman_default_nofile = 1048576;
inline constexpr uint64_t podman_default_nproc = 4194304;

// The caller's hard limits (the defaults above when unlimited) and kernel.pid_max.
struct Limits {
  uint64_t nofile = podman_default_nofile, nproc = podman_default_nproc, pid_max = podman_default_nproc;
};
Limits host_limits();

// The --ulimit flags every podman run gets: `--ulimit=nofile=H:H` when the hard nofile limit is
// below podman's default, `--ulimit=nproc=N:N` (N = min(hard nproc, pid_max)) when N is below
// podman's default; none when podman's defaults can apply (the user's containers.conf rules).
std::vector<std::string> ulimit_args(const Limits& l);

// For podman's stderr naming "error setting rlimit": one sentence naming the fix; else "".
std::string explain_rlimit(const std::string& podman_err);

// The podman argv that run_in executes (for logs and tests).
std::vector<std::string> podman_run_argv(const std::string& image, const std::vector<std::string>& argv,
                                         const RunOptions& o);

}  // namespace ksimg::run
