// Host side of `ksimg kbuild` (src/hostbuild/kbuild_host.hpp, src/run/podman.hpp):
// the podman command line (mounts, caller's ownership, network off, flags passed through),
// the source given or downloaded from a kernel.org-layout mirror served by an in-process
// cpp-httplib server (sums checked, gz fallback, wrong bytes refused, nothing listed), and
// the source mirror serving the tarball when its sha256 is given.
#include <doctest/doctest.h>
#include <httplib.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "hostbuild/kbuild_host.hpp"
#include "oci/digest.hpp"
#include "run/runtime.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace kh = ksimg::hostbuild;
namespace fs = std::filesystem;

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The words after `flag` in argv, in order.
std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  return out;
}

struct Mirror {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  std::string gz = "pretend gzip tarball\n", sums;
  Mirror() {
    sums = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + oci::sha256(gz).hex() +
           "  linux-5.10.223.tar.gz\n-----BEGIN PGP SIGNATURE-----\nxx\n-----END PGP SIGNATURE-----\n";
    svr.Get("/k/v5.x/sha256sums.asc",
            [this](const httplib::Request&, httplib::Response& r) { r.set_content(sums, "text/plain"); });
    svr.Get("/k/v5.x/linux-5.10.223.tar.gz",
            [this](const httplib::Request&, httplib::Response& r) { r.set_content(gz, "application/gzip"); });
    svr.Get("/k/v5.x/linux-5.10.223.tar.xz",
            [](const httplib::Request&, httplib::Response& r) { r.set_content("xz", "x/y"); });
    svr.Get("/bad/v5.x/sha256sums.asc",
            [this](const httplib::Request&, httplib::Response& r) { r.set_content(sums, "text/plain"); });
    svr.Get("/bad/v5.x/linux-5.10.223.tar.gz",
            [](const httplib::Request&, httplib::Response& r) { r.set_content("tampered\n", "x/y"); });
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Mirror() {
    svr.stop();
    th.join();
  }
  std::string url(const std::string& p) const { return "http://127.0.0.1:" + std::to_string(port) + p; }
};

layers::DownloadCache quick_cache(const fs::path& root) {
  layers::DownloadCache c(root);
  c.retry.attempts = 1;
  return c;
}

}  // namespace

TEST_CASE("podman run argv maps the caller and keeps the network off") {
  run::RunOptions o;
  o.mounts = {{"/s", "/src", true}, {"/o", "/out", false}};
  run::run_as_caller(o, 1000);
  auto a = run::podman_run_argv("img", {"kbuild", "info"}, o);
  CHECK(has(a, "--userns=keep-id"));
  CHECK(has(a, "--network=none"));
  CHECK(has(a, "--pull=never"));
  CHECK(has(a, "--volume=/s:/src:ro"));
  CHECK(has(a, "--volume=/o:/out:rw"));
  CHECK_FALSE(has(a, "--tty"));
  CHECK(a.back() == "info");
  run::run_as_caller(o, 0);
  o.tty = true;
  a = run::podman_run_argv("img", {"kbuild"}, o);
  CHECK(has(a, "--user=0:0"));
  CHECK_FALSE(has(a, "--userns=keep-id"));
  CHECK(has(a, "--tty"));
  CHECK(has(a, "--interactive"));
}

TEST_CASE("host kbuild mounts a given tree or tarball read-only") {
  TempDir t("kh");
  fs::create_directories(t / "linux");
  files::write_atomic(t / "linux-5.10.223.tar.xz", "x");
  auto tree = kh::given_source(t / "linux");
  CHECK(tree.container == "/src");
  auto tarball = kh::given_source(t / "linux-5.10.223.tar.xz");
  CHECK(tarball.container == "/src/linux-5.10.223.tar.xz");
  CHECK_THROWS_WITH_AS(kh::given_source(t / "nope"), doctest::Contains("does not exist"), UsageError);
}

TEST_CASE("host kbuild passes the flags through and mounts the config files") {
  TempDir t("kh");
  files::write_atomic(t / "my.config", "CONFIG_X=y\n");
  files::write_atomic(t / "frag", "CONFIG_Y=y\n");
  kh::Request r;
  r.config = (t / "my.config").string();
  r.fragments = {(t / "frag").string()};
  r.enable = {"MIPS_MALTA", "CPU_MIPS32_R2"};
  r.disable = {"MODULES"};
  r.targets = "vmlinux";
  r.jobs = 3;
  r.config_strict = r.dry_run = true;
  kh::SourcePlan src{t / "linux.tar.xz", "/src/linux.tar.xz", std::string(64, 'a'), "url"};
  kh::ImageChoice img{"localhost/kernelsmith:k4-mipsel", "kernelsmith:k4-mipsel", "sha256:bb", "layout"};
  auto inv = kh::plan_invocation(r, matrix::parse_version("5.10.223"), src, t / "out", t / "cc", img, 1000);
  const auto& a = inv.argv;
  CHECK(std::vector<std::string>(a.begin(), a.begin() + 3) ==
        std::vector<std::string>{"kbuild", "build", "5.10.223"});
  CHECK(values_of(a, "--source") == std::vector<std::string>{"/src/linux.tar.xz"});
  CHECK(values_of(a, "--sha256") == std::vector<std::string>{std::string(64, 'a')});
  CHECK(values_of(a, "--enable") == r.enable);
  CHECK(values_of(a, "--disable") == r.disable);
  CHECK(values_of(a, "--targets") == std::vector<std::string>{"vmlinux"});
  CHECK(values_of(a, "--jobs") == std::vector<std::string>{"3"});
  CHECK(values_of(a, "--out") == std::vector<std::string>{"/out"});
  CHECK(values_of(a, "--ccache-dir") == std::vector<std::string>{"/ccache"});
  CHECK(has(a, "--config-strict"));
  CHECK(has(a, "--dry-run"));
  CHECK_FALSE(has(a, "--force"));
  auto cfg = values_of(a, "--config"), frag = values_of(a, "--fragment");
  REQUIRE(cfg.size() == 1);
  REQUIRE(frag.size() == 1);
  int ro = 0, rw = 0;
  for (const auto& m : inv.opts.mounts) (m.read_only ? ro : rw)++;
  CHECK(ro == 3);  // source, config, fragment
  CHECK(rw == 2);  // out, ccache
  CHECK(std::any_of(inv.opts.mounts.begin(), inv.opts.mounts.end(),
                    [&](const run::Mount& m) { return m.container == cfg[0] && m.host == t / "my.config"; }));
  CHECK(inv.opts.env.at("KSIMG_IMAGE_REF") == "kernelsmith:k4-mipsel");
  CHECK(inv.opts.env.at("KSIMG_IMAGE_DIGEST") == "sha256:bb");
  CHECK_FALSE(inv.opts.network);
  CHECK(inv.opts.userns == "keep-id");
  r.config = (t / "missing.config").string();
  CHECK_THROWS_WITH_AS(
      kh::plan_invocation(r, matrix::parse_version("5.10.223"), src, t / "out", t / "cc", img, 0),
      doctest::Contains("missing.config does not exist"), UsageError);
}

TEST_CASE("host kbuild downloads the tarball its mirror's sha256sums lists") {
  Mirror m;
  TempDir t("kh");
  auto cache = quick_cache(t / "cache");
  auto tr = http::make_transport();
  // The .tar.xz is served but not listed: the listed .tar.gz is the one taken.
  auto s = kh::download_source(*tr, cache, m.url("/k/"), matrix::parse_version("5.10.223"), "");
  CHECK(s.container == "/src/linux-5.10.223.tar.gz");
  CHECK(s.sha256 == oci::sha256(m.gz).hex());
  CHECK(files::read_if_exists(s.host) == m.gz);
  CHECK(s.origin == m.url("/k/v5.x/linux-5.10.223.tar.gz"));
}

TEST_CASE("host kbuild refuses tampered bytes and a version the mirror lacks") {
  Mirror m;
  TempDir t("kh");
  auto cache = quick_cache(t / "cache");
  auto tr = http::make_transport();
  CHECK_THROWS_AS(kh::download_source(*tr, cache, m.url("/bad"), matrix::parse_version("5.10.223"), ""),
                  IntegrityError);
  CHECK_THROWS_AS(
      kh::download_source(*tr, cache, m.url("/k"), matrix::parse_version("5.10.223"), std::string(64, 'c')),
      IntegrityError);
  CHECK_THROWS_WITH_AS(kh::download_source(*tr, cache, m.url("/k"), matrix::parse_version("5.10.224"), ""),
                       doctest::Contains("not in sha256sums.asc"), RuntimeError);
  CHECK_THROWS_WITH_AS(kh::download_source(*tr, cache, m.url("/k"), matrix::parse_version("6.6"), ""),
                       doctest::Contains("no sha256sums.asc"), RuntimeError);
}

TEST_CASE("podman runs get ulimits within the caller's hard limits when podman's defaults are above them") {
  run::Limits l{20000, 96362, 32768};
  CHECK(run::ulimit_args(l) ==
        std::vector<std::string>{"--ulimit=nofile=20000:20000", "--ulimit=nproc=32768:32768"});
  CHECK(run::ulimit_args({}).empty());
  l = {run::podman_default_nofile * 2, 50000, run::podman_default_nproc};
  CHECK(run::ulimit_args(l) == std::vector<std::string>{"--ulimit=nproc=50000:50000"});
  auto a = run::podman_run_argv("img", {"true"}, {});
  for (const auto& u : run::ulimit_args(run::host_limits())) CHECK(has(a, u));
  CHECK(run::explain_rlimit("Error: ... error setting rlimit type 7: operation not permitted")
            .find("default_ulimits") != std::string::npos);
  CHECK(run::explain_rlimit("Error: no such image").empty());
}

TEST_CASE("host kbuild names podman's own failures") {
  CHECK(run::podman_failure(126, "img").find("ksimg build") == std::string::npos);
  CHECK(run::podman_failure(126, "img").find("rlimit") != std::string::npos);
  CHECK(run::podman_failure(125, "img").find("podman refused to run img") != std::string::npos);
  CHECK(run::podman_failure(127, "img").find("not a kernelsmith cell image") != std::string::npos);
  CHECK(run::podman_failure(1, "img").empty());
  CHECK(run::podman_failure(3, "img").empty());
}

namespace {

// A source mirror holding one blob (docs/mirror.md), counting its calls.
struct OneBlobMirror : layers::SourceMirror {
  std::string bytes;
  int calls = 0;
  std::string name() const override { return "reg.test/sources"; }
  bool fetch(const layers::SourcePin& pin, const std::filesystem::path& dest) override {
    ++calls;
    if (pin.sha256 != oci::sha256(bytes).hex()) return false;
    std::ofstream(dest, std::ios::binary) << bytes;
    return true;
  }
};

}  // namespace

TEST_CASE("host kbuild takes the kernel tarball from the source mirror when its sha256 is given") {
  TempDir t("kh");
  auto cache = quick_cache(t / "cache");
  OneBlobMirror sm;
  sm.bytes = "kernel tarball bytes";
  cache.mirror = &sm;
  auto tr = http::make_transport();
  // The kernel mirror is unreachable (nothing listens there): only the source mirror serves it.
  auto s = kh::download_source(*tr, cache, "http://127.0.0.1:9/k/", matrix::parse_version("5.10.223"),
                               oci::sha256(sm.bytes).hex());
  CHECK(sm.calls == 1);
  CHECK(files::read_if_exists(s.host) == sm.bytes);
}
