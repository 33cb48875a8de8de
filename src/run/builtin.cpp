// The built-in runtime (builtin.hpp): bwrap's own flags, nothing else. --unshare-all takes
// every namespace bwrap knows (user, ipc, pid, net, uts, cgroup), --share-net gives the
// network back on request: RunOptions::network, or network_mode "host" (what podman's
// --network=host means: the host's interfaces, so 127.0.0.1 is the host's, e.g. a local redis
// for --ccache-remote). The root is a tmpfs holding the image's top-level entries bound
// read-only (and, on the way to a mount point under an image dir, that dir's entries), made
// read-only once every mount point exists: a plain read-only bind of the checkout could not get
// the mount points it lacks. --clearenv then the image's Env: nothing of the host's environment
// leaks in. --die-with-parent ties the sandbox to ksimg; --new-session (no TTY) keeps it from
// typing into our terminal. Availability is checked before anything slow: bwrap on PATH, and
// user namespaces (user.max_user_namespaces > 0, kernel.unprivileged_userns_clone on Debian
// kernels that have it), else one line naming the package or the sysctl.
#include "run/builtin.hpp"

#include <unistd.h>

#include <algorithm>

#include "run/attached.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::run {

namespace {

long sysctl_value(const char* path) {
  auto v = files::read_if_exists(path);
  return v ? std::strtol(v->c_str(), nullptr, 10) : -1;
}

void add_env(std::vector<std::string>& a, const std::string& kv) {
  auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return;
  a.insert(a.end(), {"--setenv", kv.substr(0, eq), kv.substr(eq + 1)});
}

// True when container path `p` lies strictly below `dir` ("/" holds every absolute path).
bool below(const std::string& p, const std::string& dir) {
  std::string d = dir == "/" ? "/" : dir + "/";
  return p.size() > d.size() && p.compare(0, d.size(), d) == 0;
}

// Lays the image's `dir` (a container path; a directory of the tmpfs root) out of its entries:
// each read-only bound, or recreated as a symlink, except the directories on the way to a
// mount point or the working dir, which become tmpfs dirs whose entries are laid out in turn
// (a read-only bind could not hold the new mount point).
void lay_dir(std::vector<std::string>& a, const std::filesystem::path& root, const std::string& dir,
             const std::vector<std::string>& needs) {
  std::error_code ec;
  std::vector<std::filesystem::directory_entry> entries;
  for (const auto& e : std::filesystem::directory_iterator(root / dir.substr(1), ec)) entries.push_back(e);
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    std::string c = (dir == "/" ? "" : dir) + "/" + e.path().filename().string();
    if (e.is_symlink(ec)) {
      a.insert(a.end(), {"--symlink", std::filesystem::read_symlink(e.path(), ec).string(), c});
      continue;
    }
    bool on_way = e.is_directory(ec) &&
                  std::any_of(needs.begin(), needs.end(), [&](const std::string& n) { return below(n, c); });
    bool is_target = std::find(needs.begin(), needs.end(), c) != needs.end();
    if (is_target) continue;  // mounted over: nothing of the image's shows there
    if (on_way) {
      a.insert(a.end(), {"--dir", c});
      lay_dir(a, root, c, needs);
    } else {
      a.insert(a.end(), {"--ro-bind", e.path().string(), c});
    }
  }
}

}  // namespace

std::string builtin_unavailable() {
  if (!subprocess::find_program("bwrap"))
    return "the built-in runtime needs bubblewrap, which is not installed (apt-get install bubblewrap)";
  if (sysctl_value("/proc/sys/user/max_user_namespaces") == 0)
    return "the built-in runtime needs user namespaces, which are disabled (sysctl -w "
           "user.max_user_namespaces=15000)";
  if (geteuid() != 0 && sysctl_value("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    return "the built-in runtime needs unprivileged user namespaces, which are disabled "
           "(sysctl -w kernel.unprivileged_userns_clone=1)";
  return "";
}

void require_builtin() {
  if (auto why = builtin_unavailable(); !why.empty()) throw RuntimeError(why);
}

std::vector<std::string> bwrap_argv(const store::PreparedImage& img, const std::vector<std::string>& argv,
                                    const RunOptions& o) {
  std::vector<std::string> a{"bwrap", "--unshare-all", "--die-with-parent", "--clearenv"};
  bool net = o.network || o.network_mode == "host";
  if (net) a.push_back("--share-net");
  if (!o.tty) a.push_back("--new-session");
  a.insert(a.end(), {"--uid", "0", "--gid", "0", "--hostname", "ksimg"});
  std::string wd = !o.workdir.empty() ? o.workdir : (img.workdir.empty() ? "/" : img.workdir);
  std::vector<std::string> needs{"/dev", "/proc", "/tmp", wd};
  for (const auto& m : o.mounts) needs.push_back(m.container);
  a.insert(a.end(), {"--tmpfs", "/"});
  lay_dir(a, img.root, "/", needs);
  a.insert(a.end(), {"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
  if (net) a.insert(a.end(), {"--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf"});
  for (const auto& m : o.mounts)
    a.insert(a.end(),
             {m.read_only ? "--ro-bind" : "--bind", std::filesystem::absolute(m.host).string(), m.container});
  a.insert(a.end(), {"--remount-ro", "/"});
  add_env(a, "HOME=/root");
  for (const auto& e : img.env) add_env(a, e);
  for (const auto& [k, v] : o.env) a.insert(a.end(), {"--setenv", k, v});
  a.insert(a.end(), {"--chdir", wd, "--"});
  a.insert(a.end(), img.entrypoint.begin(), img.entrypoint.end());
  const auto& cmd = argv.empty() ? img.cmd : argv;
  a.insert(a.end(), cmd.begin(), cmd.end());
  return a;
}

int run_builtin_attached(const store::PreparedImage& img, const std::vector<std::string>& argv,
                         const RunOptions& o) {
  require_builtin();
  return spawn_attached(bwrap_argv(img, argv, o));
}

subprocess::Result run_builtin(const store::PreparedImage& img, const std::vector<std::string>& argv,
                               const RunOptions& o) {
  require_builtin();
  return subprocess::run(bwrap_argv(img, argv, o));
}

}  // namespace ksimg::run
