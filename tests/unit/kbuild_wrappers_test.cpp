// The -Wno-error carriers (src/kbuild/wrappers.cpp): the specs file's text, the
// -### probe against the host's gcc and against a driver that ignores specs, make variables
// pointed at the compiler only when the probe passes, a -Werror compile that still succeeds
// through the specs file; --no-ccache and --targets checks on both sides; metadata cpu_seconds.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "hostbuild/kbuild_host.hpp"
#include "kbuild/build.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;
namespace kh = ksimg::hostbuild;

namespace {

Plan k4_plan(BuildOptions o = {}, std::map<std::string, std::string> env = {}) {
  const auto& m = matrix::builtin();
  auto id = identify(
      m, {{"KSIMG_ERA", "k4"}, {"KSIMG_ARCH", "mipsel"}, {"KSIMG_RECIPE", "debian-bullseye-gcc10-mipsel"}});
  o.version = "5.10.223";
  return make_plan(m, matrix::builtin_quirks(), id, o, matrix::parse_version("5.10.223"), env, 2);
}

// A plan that wraps only the host's gcc as HOSTCC, in `dir`.
Plan host_only_plan(const fs::path& dir) {
  Plan p;
  p.wrapper_dir = dir / "build/.kbuild/bin";
  p.wrapper_flags = {"-Wno-error"};
  p.wrappers = {{"kbuild-hostcc", "gcc"}};
  p.make_vars = {"ARCH=mips", "HOSTCC=" + (p.wrapper_dir / "kbuild-hostcc").string()};
  return p;
}

// Sets PATH for the scope.
struct PathScope {
  std::string old;
  explicit PathScope(const std::string& path) : old(std::getenv("PATH") ? std::getenv("PATH") : "") {
    setenv("PATH", path.c_str(), 1);
  }
  ~PathScope() { setenv("PATH", old.c_str(), 1); }
};

}  // namespace

TEST_CASE("wrapper specs: self_spec appends the wrapper flags, nothing when a flag cannot be carried") {
  auto p = k4_plan();
  CHECK(p.wrapper_specs() == "*self_spec:\n+ -Wno-error\n\n");
  CHECK(p.specs_file() == fs::path("/out/build/.kbuild/wrapper.specs"));
  CHECK(p.wrapper_mode == WrapperMode::script);  // until prepare_wrappers probed the compilers
  p.wrapper_flags.push_back("-DX=a b");
  CHECK(p.wrapper_specs().empty());
  p.wrapper_flags = {"-D%x"};
  CHECK(p.wrapper_specs().empty());
  p.wrapper_flags.clear();
  CHECK(p.wrapper_specs().empty());
}

TEST_CASE("wrapper specs: the host gcc honours them and a -Werror compile still succeeds") {
  auto gcc = subprocess::find_program("gcc");
  if (!gcc) return;  // no host compiler: nothing to probe
  TempDir t("kw");
  auto p = host_only_plan(t.path());
  auto env = prepare_wrappers(p);
  CHECK(p.wrapper_mode == WrapperMode::specs);
  CHECK(files::read(p.specs_file()) == "*self_spec:\n+ -Wno-error\n\n");
  CHECK(files::read(p.wrapper_dir / "kbuild-hostcc").find("\"$@\" -Wno-error") != std::string::npos);
  std::string hostcc = p.make_vars[1].substr(7);
  CHECK(hostcc == gcc->string() + " -specs=" + p.specs_file().string());
  CHECK(env.at("PATH").rfind(p.wrapper_dir.string() + ":", 0) == 0);
  CHECK(env.count("CCACHE_EXTRAFILES") == 0);  // no ccache dir
  files::write_atomic(t.path() / "w.c", "int f(void) { int unused; return 0; }\n");
  auto r = subprocess::run({"sh", "-c", hostcc + " -Wall -Werror -c w.c -o w.o", "cc"}, [&] {
    subprocess::Options o;
    o.cwd = t.path();
    return o;
  }());
  CHECK_MESSAGE(r.ok(), r.err);  // the warning stays a warning: -Wno-error came after -Werror
  CHECK(r.err.find("unused") != std::string::npos);
  auto plain = subprocess::run(
      {"sh", "-c", gcc->string() + " -Wall -Werror -c " + (t.path() / "w.c").string() + " -o /dev/null"});
  CHECK_FALSE(plain.ok());  // and without the specs file it fails, so the check above means something
}

TEST_CASE("wrapper specs: a driver that ignores the specs file keeps the wrapper script") {
  TempDir t("kw");
  fs::create_directories(t.path() / "fakebin");
  // Prints a cc1 line without the flags, as a driver without *self_spec would.
  files::write_atomic(t.path() / "fakebin/gcc",
                      "#!/bin/sh\necho ' \"/usr/lib/gcc/cc1\" \"-quiet\" \"/dev/null\"' >&2\n", 0755);
  PathScope path((t.path() / "fakebin").string() + ":/usr/bin:/bin");
  auto p = host_only_plan(t.path());
  prepare_wrappers(p);
  CHECK(p.wrapper_mode == WrapperMode::script);
  CHECK(p.make_vars[1] == "HOSTCC=" + (p.wrapper_dir / "kbuild-hostcc").string());
  CHECK_FALSE(specs_honoured((t.path() / "fakebin/gcc").string(), p.specs_file(), p.wrapper_flags));
  CHECK_FALSE(specs_honoured((t.path() / "nope").string(), p.specs_file(), p.wrapper_flags));
}

TEST_CASE("--no-ccache: kbuild ignores CCACHE_DIR, refuses it with --ccache-dir, the host mounts none") {
  BuildOptions o;
  o.no_ccache = true;
  CHECK_FALSE(k4_plan(o, {{"CCACHE_DIR", "/ccache"}}).ccache_dir.has_value());
  o.ccache_dir = "/cc";
  CHECK_THROWS_WITH_AS(k4_plan(o), doctest::Contains("--no-ccache and --ccache-dir"), UsageError);
  TempDir t("kh");
  kh::Request r;
  kh::SourcePlan src{t.path(), "/src", std::nullopt, "tree"};
  kh::ImageChoice img{"localhost/kernelsmith:k4-mipsel", "kernelsmith:k4-mipsel", "sha256:bb", "layout"};
  auto inv = kh::plan_invocation(r, matrix::parse_version("5.10.223"), src, t.path() / "out", std::nullopt,
                                 img, 1000);
  CHECK(std::find(inv.argv.begin(), inv.argv.end(), "--no-ccache") != inv.argv.end());
  CHECK(std::find(inv.argv.begin(), inv.argv.end(), "--ccache-dir") == inv.argv.end());
  CHECK(std::none_of(inv.opts.mounts.begin(), inv.opts.mounts.end(),
                     [](const run::Mount& m) { return m.container == "/ccache"; }));
}

TEST_CASE("--targets: unknown names are refused on the host, empty items skipped as kbuild does") {
  CHECK_NOTHROW(kh::check_targets(""));
  CHECK_NOTHROW(kh::check_targets("vmlinux,,image,"));
  CHECK_THROWS_WITH_AS(
      kh::check_targets("vmlinux,bogus"),
      doctest::Contains("unknown target \"bogus\" in --targets (allowed: vmlinux image modules"), UsageError);
  CHECK_THROWS_AS(check_targets({"Vmlinux"}), UsageError);
}

TEST_CASE("metadata records cpu_seconds per step and for the whole build") {
  TempDir t("km");
  Metadata m(t.path() / "metadata.json");
  REQUIRE(subprocess::run({"sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"}).ok());
  m.step("config", "ok", 1.0);
  auto lap = m.doc()["steps"][0]["cpu_seconds"].get<double>();
  CHECK(lap >= 0.0);
  CHECK(m.cpu_lap() <= lap);  // nothing ran since
  m.finish("succeeded");
  CHECK(m.doc()["cpu_seconds"].get<double>() >= lap);
  CHECK(files::read(t.path() / "metadata.json").find("\"cpu_seconds\"") != std::string::npos);
}

TEST_CASE("ccache: depend mode, the specs file in the hash at a fixed mtime, and the mode for metadata") {
  auto gcc = subprocess::find_program("gcc");
  if (!gcc) return;  // no host compiler: nothing to probe
  TempDir t("kc");
  fs::create_directories(t.path() / "bin");
  fs::create_symlink(*gcc, t.path() / "bin/gcc");
  SUBCASE("no ccache dir: off, no CCACHE_ variables") {
    auto p = host_only_plan(t.path());
    auto env = prepare_wrappers(p);
    CHECK(p.ccache_mode == CcacheMode::off);
    CHECK(
        std::none_of(env.begin(), env.end(), [](const auto& kv) { return kv.first.starts_with("CCACHE_"); }));
  }
  SUBCASE("a ccache dir but no ccache on PATH: missing, the build goes on without it") {
    auto p = host_only_plan(t.path());
    p.ccache_dir = t.path() / "cc";
    PathScope path((t.path() / "bin").string());
    auto env = prepare_wrappers(p);
    CHECK(p.ccache_mode == CcacheMode::missing);
    CHECK(env.count("CCACHE_DIR") == 0);
    CHECK(files::read(p.wrapper_dir / "kbuild-hostcc").find("ccache") == std::string::npos);
  }
  SUBCASE("a ccache dir and ccache: depend mode, the specs file's text hashed, its mtime fixed") {
    // A stand-in ccache: prepare_wrappers only looks it up on PATH; nothing runs it here.
    files::write_atomic(t.path() / "bin/ccache", "#!/bin/sh\nexec \"$@\"\n", 0755);
    auto p = host_only_plan(t.path());
    p.ccache_dir = t.path() / "cc";
    PathScope path((t.path() / "bin").string());
    auto env = prepare_wrappers(p);
    CHECK(p.ccache_mode == CcacheMode::depend);
    CHECK(std::string(name(p.ccache_mode)) == "depend");  // metadata.json make.ccache.mode
    CHECK(env.at("CCACHE_DIR") == (t.path() / "cc").string());
    CHECK(env.at("CCACHE_DEPEND") == "1");
    REQUIRE(p.wrapper_mode == WrapperMode::specs);
    CHECK(env.at("CCACHE_EXTRAFILES") == p.specs_file().string());
    // ccache hashes a -specs= file's mtime: the same in every output dir, so the cache carries over
    auto mtime = std::chrono::file_clock::to_sys(fs::last_write_time(p.specs_file()));
    CHECK(std::chrono::duration_cast<std::chrono::seconds>(mtime.time_since_epoch()).count() == 946684800);
    CHECK(p.make_vars[1].find("HOSTCC=ccache ") == 0);
  }
}
