// The built-in runtime's bwrap command line (src/run/builtin.cpp): namespaces and network,
// the tmpfs root laid out of the image's entries (a directory on the way to a mount point
// becomes a tmpfs dir, symlinks are recreated, not followed), read-only once the mounts exist,
// the image's Env before the caller's, the Entrypoint before the command, the Cmd by default.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "run/builtin.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

// Index of the first occurrence of the sequence `seq` in `a`, or -1.
long find_seq(const std::vector<std::string>& a, const std::vector<std::string>& seq) {
  auto it = std::search(a.begin(), a.end(), seq.begin(), seq.end());
  return it == a.end() ? -1 : static_cast<long>(it - a.begin());
}

store::PreparedImage fake_image(const TempDir& t) {
  fs::create_directories(t.path() / "root/usr/bin");
  fs::create_directories(t.path() / "root/home/user/other");
  fs::create_directory_symlink("usr/bin", t.path() / "root/bin");
  files::write_atomic(t.path() / "root/etc-file", "x");
  store::PreparedImage img;
  img.root = t.path() / "root";
  img.env = {"PATH=/usr/bin", "ARCH=mips"};
  img.cmd = {"kbuild", "--help"};
  img.entrypoint = {"/usr/bin/entry"};
  return img;
}

}  // namespace

TEST_CASE("bwrap argv: namespaces, read-only tmpfs root laid out of the image, mounts inside image dirs") {
  TempDir t("bw");
  auto img = fake_image(t);
  run::RunOptions o;
  o.mounts = {{"/host/src", "/src", true}, {"/host/work", "/home/user/work", false}};
  o.workdir = "/home/user/work";
  o.env["ARCH"] = "override";
  auto a = run::bwrap_argv(img, {"kbuild", "info"}, o);
  CHECK(a[0] == "bwrap");
  CHECK(find_seq(a, {"--unshare-all"}) > 0);
  CHECK(find_seq(a, {"--share-net"}) < 0);
  CHECK(find_seq(a, {"--clearenv"}) > 0);
  long tmpfs_root = find_seq(a, {"--tmpfs", "/"});
  CHECK(tmpfs_root > 0);
  CHECK(find_seq(a, {"--symlink", "usr/bin", "/bin"}) > tmpfs_root);
  CHECK(find_seq(a, {"--ro-bind", (img.root / "usr").string(), "/usr"}) > tmpfs_root);
  CHECK(find_seq(a, {"--dir", "/home"}) > tmpfs_root);
  CHECK(find_seq(a, {"--dir", "/home/user"}) > tmpfs_root);
  CHECK(find_seq(a, {"--ro-bind", (img.root / "home").string(), "/home"}) < 0);
  CHECK(find_seq(a, {"--ro-bind", (img.root / "home/user/other").string(), "/home/user/other"}) > 0);
  long src = find_seq(a, {"--ro-bind", "/host/src", "/src"});
  long work = find_seq(a, {"--bind", "/host/work", "/home/user/work"});
  long ro = find_seq(a, {"--remount-ro", "/"});
  CHECK(src > 0);
  CHECK(work > 0);
  CHECK(ro > std::max(src, work));
  CHECK(find_seq(a, {"--setenv", "ARCH", "mips"}) < find_seq(a, {"--setenv", "ARCH", "override"}));
  CHECK(find_seq(a, {"--chdir", "/home/user/work", "--", "/usr/bin/entry", "kbuild", "info"}) > ro);
}

TEST_CASE("bwrap argv: network on request, the image's Cmd when no command is given") {
  TempDir t("bw");
  auto img = fake_image(t);
  run::RunOptions o;
  o.network = true;
  o.tty = true;
  auto a = run::bwrap_argv(img, {}, o);
  CHECK(find_seq(a, {"--share-net"}) > 0);
  CHECK(find_seq(a, {"--new-session"}) < 0);
  CHECK(find_seq(a, {"--", "/usr/bin/entry", "kbuild", "--help"}) > 0);
  CHECK(a.back() == "--help");
}

TEST_CASE("bwrap argv: network_mode host shares the host's network, other modes keep it off") {
  TempDir t("bw");
  auto img = fake_image(t);
  run::RunOptions o;
  CHECK(find_seq(run::bwrap_argv(img, {"true"}, o), {"--share-net"}) < 0);
  o.network_mode = "host";
  auto a = run::bwrap_argv(img, {"true"}, o);
  CHECK(find_seq(a, {"--unshare-all"}) > 0);
  CHECK(find_seq(a, {"--share-net"}) > 0);
  o.network_mode = "none";
  CHECK(find_seq(run::bwrap_argv(img, {"true"}, o), {"--share-net"}) < 0);
}
