// Subprocesses (see subprocess.hpp): posix_spawnp (POSIX.1-2017 "posix_spawn") with pipes on
// stdin/stdout/stderr and a poll() loop that feeds stdin while draining both outputs, so no
// pipe can fill up and deadlock parent and child.
#include "util/subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "util/error.hpp"

extern char** environ;

namespace ksimg::subprocess {

namespace {

struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  ~Fd() { close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

struct Pipe {
  Fd r, w;
};

void make_pipe(Pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw RuntimeError(std::string("cannot create a pipe: ") + std::strerror(errno));
  p.r.fd = fds[0];
  p.w.fd = fds[1];
}

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv(*e);
    if (!extra.count(kv.substr(0, kv.find('=')))) out.push_back(kv);
  }
  for (const auto& [k, v] : extra) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

pid_t spawn(std::vector<std::string> argv, const Options& o, Pipe& in, Pipe& out, Pipe& err) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (o.input)
    posix_spawn_file_actions_adddup2(&fa, in.r.fd, 0);
  else
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out.w.fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err.w.fd, 2);
  // Nothing but stdin/stdout/stderr reaches the child: a descriptor some library opened
  // without O_CLOEXEC would otherwise push the child's own descriptors past 9, which breaks
  // programs that pass them to sh (dash takes one digit: mmdebstrap's `cat >&11` fails).
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (o.cwd) posix_spawn_file_actions_addchdir_np(&fa, o.cwd->c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  short flags = POSIX_SPAWN_SETSIGDEF;
  if (o.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  auto env = merged_env(o.env);
  auto args = c_array(argv);
  auto envp = c_array(env);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &fa, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    throw RuntimeError("cannot run " + argv[0] + ": " + std::strerror(rc) +
                       (rc == ENOENT ? "; is it installed and in PATH?" : ""));
  return pid;
}

// Reads what is available on `fd` into `to` (or hands it to the streaming callback); closes
// it at EOF.
void drain(Fd& fd, std::string& to, size_t max, const std::string& prog, const Options& o, bool is_err) {
  char buf[65536];
  ssize_t n = ::read(fd.fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) return fd.close();
  if (o.on_output) return o.on_output(std::string_view(buf, static_cast<size_t>(n)), is_err);
  to.append(buf, static_cast<size_t>(n));
  if (to.size() > max) throw RuntimeError(prog + " printed more than " + std::to_string(max) + " bytes");
}

// Writes the next chunk of `input` to `fd` (SIGPIPE blocked by the caller); closes when done.
void feed(Fd& fd, const std::string& input, size_t& off) {
  ssize_t n = ::write(fd.fd, input.data() + off, std::min<size_t>(input.size() - off, 65536));
  if (n < 0 && errno == EINTR) return;
  if (n < 0) return fd.close();  // EPIPE: the child stopped reading; its exit status tells why
  off += static_cast<size_t>(n);
  if (off == input.size()) fd.close();
}

// Forwards a cancel request (once) to the child or its process group.
void check_cancel(const Options& o, pid_t pid, bool& sent) {
  if (sent || !o.cancel || !*o.cancel) return;
  ::kill(o.new_process_group ? -pid : pid, SIGTERM);
  sent = true;
}

void pump(Fd& in, const std::string* input, Fd& out, Fd& err, Result& r, const Options& o,
          const std::string& prog, pid_t pid) {
  size_t off = 0, max = o.max_output;
  bool cancel_sent = false;
  if (input && input->empty()) in.close();
  while (in.fd >= 0 || out.fd >= 0 || err.fd >= 0) {
    check_cancel(o, pid, cancel_sent);
    pollfd p[3];
    Fd* which[3];
    nfds_t n = 0;
    for (Fd* f : {&out, &err})
      if (f->fd >= 0) p[n] = {f->fd, POLLIN, 0}, which[n++] = f;
    if (in.fd >= 0) p[n] = {in.fd, POLLOUT, 0}, which[n++] = &in;
    if (::poll(p, n, o.cancel ? 500 : -1) < 0) {
      if (errno == EINTR) continue;
      throw RuntimeError(std::string("poll failed while running ") + prog + ": " + std::strerror(errno));
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (!p[i].revents) continue;
      if (which[i] == &in)
        feed(in, *input, off);
      else
        drain(*which[i], which[i] == &out ? r.out : r.err, max, prog, o, which[i] == &err);
    }
  }
}

int wait_for(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 255;
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 255;
}

// Blocks SIGPIPE on this thread while alive and discards one raised meanwhile, so a child
// that exits before reading all its input cannot kill us.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeGuard() {
    timespec zero{0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t set_, old_;
};

}  // namespace

Result run(const std::vector<std::string>& argv, const Options& opts) {
  if (argv.empty()) throw RuntimeError("internal: subprocess::run with an empty argv");
  Pipe in, out, err;
  if (opts.input) make_pipe(in);
  make_pipe(out);
  make_pipe(err);
  SigpipeGuard guard;
  pid_t pid = spawn(argv, opts, in, out, err);
  in.r.close();
  out.w.close();
  err.w.close();
  Result r;
  try {
    pump(in.w, opts.input ? &*opts.input : nullptr, out.r, err.r, r, opts, argv[0], pid);
  } catch (...) {
    ::kill(opts.new_process_group ? -pid : pid, SIGKILL);
    wait_for(pid);
    throw;
  }
  r.status = wait_for(pid);
  return r;
}

std::optional<std::filesystem::path> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos)
    return ::access(name.c_str(), X_OK) == 0 ? std::optional<std::filesystem::path>(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= p.size();) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::filesystem::path cand = std::filesystem::path(p.substr(start, end - start)) / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(cand, ec) && ::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return std::nullopt;
}

std::string describe_failure(const std::vector<std::string>& argv, const Result& r) {
  std::string prog = argv.empty() ? "?" : std::filesystem::path(argv[0]).filename().string();
  std::string last;
  size_t pos = 0;
  while (pos < r.err.size()) {
    size_t nl = r.err.find('\n', pos);
    if (nl == std::string::npos) nl = r.err.size();
    std::string line = r.err.substr(pos, nl - pos);
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
    pos = nl + 1;
  }
  std::string status = r.status > 128 ? "killed by signal " + std::to_string(r.status - 128)
                                      : "exit status " + std::to_string(r.status);
  return prog + " failed (" + status + ")" + (last.empty() ? "" : ": " + last);
}

}  // namespace ksimg::subprocess
