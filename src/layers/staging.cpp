// Staged trees for toolchain layers (toolchain_kinds.hpp): the SDK relocation in a private
// mount namespace, and mode/mtime normalisation of files ksimg writes itself.
//
// Why a mount namespace: Buildroot's relocate-sdk.sh computes the new location from its own
// path (cd "$(dirname "$(readlink -f "$0")")"; NEWPATH=$(pwd)) and rewrites the recorded
// build path in every text file to it. The SDK must therefore sit at install_dir while the
// script runs, but install_dir is an in-image path the host must not be changed at. So the
// script runs under `unshare --mount` (with --map-root-user when not root): a tmpfs is
// mounted over the deepest existing ancestor of install_dir (only in that namespace; the
// host sees nothing), install_dir is created on it, the staging directory is bind-mounted
// there, and the script is executed as <install_dir>/<script>. Its edits land in staging.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layers/toolchain_kinds.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::layers::detail {

namespace fs = std::filesystem;

namespace {

// Mounts, binds and runs; "$3" is empty when install_dir itself exists on the host. The bind
// source is "." (the staging dir, entered first) so it stays reachable under the tmpfs.
constexpr const char* kRelocate =
    "cd \"$1\"\n"
    "if [ -n \"$3\" ]; then mount -t tmpfs -o mode=0755 ksimg-relocate \"$3\"; fi\n"
    "mkdir -p \"$2\"\n"
    "mount --bind . \"$2\"\n"
    "cd /\n"
    "exec \"$2/$4\"\n";

// The deepest existing ancestor of `dir` to hide under a tmpfs ("" when `dir` exists).
std::string mount_point(const std::string& dir) {
  if (fs::is_directory(dir)) return "";
  fs::path p = fs::path(dir).parent_path();
  while (!fs::is_directory(p)) p = p.parent_path();
  static const std::vector<std::string> vital = {"/",    "/usr", "/bin",  "/sbin", "/lib", "/lib64",
                                                 "/etc", "/dev", "/proc", "/sys",  "/run"};
  for (const auto& v : vital)
    if (p == v)
      throw UsageError("cannot relocate the SDK to " + dir +
                       ": its nearest existing directory on this host is " + p.string() +
                       ", which the relocation must not hide; choose an install_dir below /opt");
  return p.string();
}

void check_location(const fs::path& staging, const std::string& install_dir) {
  auto loc = files::read_if_exists(staging / "share/buildroot/sdk-location");
  if (!loc) return;
  std::string l = *loc;
  while (!l.empty() && (l.back() == '\n' || l.back() == '/')) l.pop_back();
  if (l != install_dir)
    throw RuntimeError("the SDK's relocation did not take effect: share/buildroot/sdk-location says '" + l +
                       "', expected '" + install_dir + "'");
}

}  // namespace

void relocate_sdk(const fs::path& staging, const std::string& install_dir, const std::string& script) {
  fs::path s = staging / script;
  if (!fs::exists(fs::symlink_status(s))) {
    log::debug("the SDK has no " + script + "; nothing to relocate");
    return;
  }
  if (::access(s.c_str(), X_OK) != 0) {
    log::warn("the SDK's " + script + " is not executable; not relocating (as kernelsmith)");
    return;
  }
  if (!subprocess::find_program("unshare"))
    throw RuntimeError(
        "relocating the SDK needs unshare (util-linux) for a private mount namespace; install it");
  std::vector<std::string> argv{"unshare", "--mount"};
  if (::geteuid() != 0) argv.push_back("--map-root-user");
  argv.insert(argv.end(), {"sh", "-euc", kRelocate, "ksimg-relocate", fs::canonical(staging).string(),
                           install_dir, mount_point(install_dir), script});
  subprocess::Options so;
  so.env = {{"LC_ALL", "C"}};
  auto r = subprocess::run(argv, so);
  log::debug(script + ": " + r.out + r.err);
  if (!r.ok())
    throw RuntimeError("the SDK's " + script + " failed: " + subprocess::describe_failure(argv, r) +
                       (r.err.find("unshare") != std::string::npos
                            ? " (private mount namespaces need root or unprivileged user namespaces)"
                            : ""));
  check_location(staging, install_dir);
  log::info("relocated the SDK to " + install_dir);
}

static void normalise_one(const fs::path& p, const fs::file_status& st, int64_t epoch) {
  struct timespec ts[2] = {{static_cast<time_t>(epoch), 0}, {static_cast<time_t>(epoch), 0}};
  if (fs::is_directory(st)) ::chmod(p.c_str(), 0755);
  if (fs::is_regular_file(st)) ::chmod(p.c_str(), 0644);
  if (::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    throw RuntimeError(errno_text("cannot set the time of", p.string()));
}

void normalise_staging(const fs::path& root, int64_t epoch) {
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    normalise_one(it->path(), it->symlink_status(), epoch);
}

void normalise_parents(const fs::path& root, const fs::path& dir, int64_t epoch) {
  for (fs::path p = dir; p != root && p.has_relative_path(); p = p.parent_path())
    normalise_one(p, fs::symlink_status(p), epoch);
}

}  // namespace ksimg::layers::detail
