// Unit tests for the script toolchain kind (src/layers/script*.cpp; recipes/README.md
// "kind script"): the plan (template or steps, environment), the cache key's ingredients,
// the builder templates being valid bash, the log tail, and build_toolchain_layer refusing
// a lock entry an older ksimg left pending. Building in podman is covered by
// tests/integration/toolchain_script.sh.
#include <doctest/doctest.h>

#include "http/transport.hpp"
#include "layers/script.hpp"
#include "layers/toolchain.hpp"
#include "matrix/data.hpp"
#include "recipes/script.hpp"
#include "recipes/spec.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;

namespace {

struct Fixture {
  std::map<std::string, recipes::Spec> specs = recipes::load_specs(matrix::data_files(KSIMG_SRC_DIR));
  const matrix::Matrix& m = matrix::get(KSIMG_SRC_DIR);
  layers::ScriptPlan plan(const std::string& name, int64_t epoch = 1700000000) {
    const auto& s = specs.at(name);
    return layers::script_plan(m.recipe(name), s.script, recipes::lock_script(s), epoch);
  }
};

}  // namespace

TEST_CASE("script plan: the builder's template and the build environment") {
  Fixture f;
  auto p = f.plan("ko-gcc4.4.7-mipsel");
  CHECK(p.script == layers::builder_template("kernel-only"));
  CHECK(p.env.at("TRIPLE") == "mipsel-linux");
  CHECK(p.env.at("CROSS_COMPILE") == "mipsel-linux-");
  CHECK(p.env.at("PREFIX") == "/opt/toolchains/ko-gcc4.4.7-mipsel");
  CHECK(p.env.at("PATH").rfind("/opt/toolchains/ko-gcc4.4.7-mipsel/bin:", 0) == 0);
  CHECK(p.env.at("GCC_VERSION") == "4.4.7");
  CHECK(p.env.at("BINUTILS_VERSION") == "2.27");
  CHECK(p.env.at("GCC_CONFIGURE") == "--with-arch=mips32r2");
  CHECK(p.env.at("SOURCE_DATE_EPOCH") == "1700000000");
  CHECK(p.env.at("INPUTS") == "/inputs");
  CHECK_FALSE(p.env.count("JOBS"));  // set at run time, outside the cache key
  CHECK(p.inputs.size() == 4);
  CHECK(f.plan("ko-gcc4.4.7-x86_64").env.at("GCC_CONFIGURE").empty());
  CHECK_THROWS_AS(layers::builder_template("make"), UsageError);

  recipes::ScriptSpec own = f.specs.at("ko-gcc4.4.7-mipsel").script;
  own.steps = {"mkdir -p \"$PREFIX/bin\"", "touch \"$PREFIX/bin/$TRIPLE-gcc\""};
  auto q = layers::script_plan(f.m.recipe("ko-gcc4.4.7-mipsel"), own,
                               recipes::lock_script(f.specs.at("ko-gcc4.4.7-mipsel")), 1);
  CHECK(q.script == "mkdir -p \"$PREFIX/bin\"\ntouch \"$PREFIX/bin/$TRIPLE-gcc\"\n");
}

TEST_CASE("script cache key: every ingredient counts") {
  Fixture f;
  const std::string base = "sha256:" + std::string(64, 'b');
  auto p = f.plan("ko-gcc4.4.7-mipsel");
  std::string k = layers::script_cache_key(p, base);
  CHECK(k.size() == 64);
  CHECK(layers::script_cache_key(f.plan("ko-gcc4.4.7-mipsel"), base) == k);              // stable
  CHECK(layers::script_cache_key(p, "sha256:" + std::string(64, 'c')) != k);             // another base
  CHECK(layers::script_cache_key(f.plan("ko-gcc4.4.7-mipsel", 1700000001), base) != k);  // epoch
  CHECK(layers::script_cache_key(f.plan("ko-gcc4.4.7-mipseb"), base) != k);              // triple, prefix
  auto other_input = p;
  other_input.inputs[0].sha256 = std::string(64, '0');
  CHECK(layers::script_cache_key(other_input, base) != k);
  auto other_script = p;
  other_script.script += "\n";
  CHECK(layers::script_cache_key(other_script, base) != k);
  auto other_urls = p;  // where an input comes from does not change what is built
  other_urls.inputs[0].urls = {"https://mirror.example/binutils-2.27.tar.bz2"};
  CHECK(layers::script_cache_key(other_urls, base) == k);
}

TEST_CASE("builder templates are valid bash that reads only the documented environment") {
  for (const char* b : {"kernel-only", "musl-cross-make"}) {
    const std::string& t = layers::builder_template(b);
    subprocess::Options o;
    o.input = t;
    auto r = subprocess::run({"bash", "-n"}, o);
    CHECK_MESSAGE(r.ok(), b << ": " << r.err);
    CHECK(t.find("\r") == std::string::npos);
    for (const char* v : {"$TRIPLE", "$PREFIX", "$INPUTS", "$GCC_VERSION", "$JOBS"})
      CHECK_MESSAGE(t.find(v) != std::string::npos, b << " does not use " << v);
  }
  const std::string& ko = layers::builder_template("kernel-only");
  for (const char* flag : {"--without-headers", "--with-newlib", "--disable-threads", "--disable-bootstrap",
                           "--enable-languages=c", "--disable-werror", "MAKEINFO=true", "all-target-libgcc",
                           "-std=gnu89 -fgnu89-inline", "ucontext_t", "$GCC_CONFIGURE"})
    CHECK_MESSAGE(ko.find(flag) != std::string::npos, "kernel-only lacks " << flag);
  const std::string& mcm = layers::builder_template("musl-cross-make");
  for (const char* s : {"patches/musl-*/cve-*.diff", "hashes/$b.sha1", "touch sources/*", "OUTPUT = $PREFIX",
                        "--disable-libquadmath --disable-decimal-float", "--disable-nls --disable-multilib"})
    CHECK_MESSAGE(mcm.find(s) != std::string::npos, "musl-cross-make lacks " << s);
}

TEST_CASE("log tail: the last lines of a build log") {
  CHECK(layers::tail_lines("a\nb\nc\n", 2) == "b\nc");
  CHECK(layers::tail_lines("a\nb\nc", 5) == "a\nb\nc");
  CHECK(layers::tail_lines("only\n\n", 1) == "only");
  CHECK(layers::tail_lines("", 3).empty());
  CHECK(layers::tail_lines("a\nb", 0).empty());
  TempDir d("ksimg-log");
  std::string big;
  for (int i = 0; i < 100000; ++i) big += "line " + std::to_string(i) + "\n";
  files::write_atomic(d / "build.log", big);
  CHECK(layers::log_tail(d / "build.log", 2) == "line 99998\nline 99999");
  CHECK(layers::log_tail(d / "missing.log").empty());
}

TEST_CASE("build_toolchain_layer refuses a lock entry an older ksimg left pending") {
  auto t = http::make_transport();
  TempDir d("ksimg-script");
  layers::BuildContext ctx;
  ctx.data_dir = KSIMG_SRC_DIR;
  ctx.cache_root = d / "cache";
  ctx.transport = t.get();
  ctx.source_date_epoch = 1700000000;
  auto specs = recipes::load_specs(matrix::data_files(KSIMG_SRC_DIR));
  recipes::Lock lock;
  lock.recipes["mcm-gcc6.5.0-x86_64"] = {
      "script", "pending", specs.at("mcm-gcc6.5.0-x86_64").recipe_sha256, "", {}, {}, ""};
  ctx.lock = lock;
  auto layout = oci::Layout::create(d / "oci");
  const auto& r = matrix::get(KSIMG_SRC_DIR).recipe("mcm-gcc6.5.0-x86_64");
  CHECK_THROWS_WITH_AS(
      layers::build_toolchain_layer(ctx, r, layout),
      doctest::Contains("is pending in the lock; run 'ksimg lock --recipe mcm-gcc6.5.0-x86_64'"), UsageError);
  CHECK_FALSE(std::filesystem::exists(d / "cache" / "sha256"));  // nothing was downloaded
  CHECK_FALSE(std::filesystem::exists(d / "cache" / "nar"));
  ctx.lock.reset();  // a locked KO recipe without a lock: the usual refusal
  CHECK_THROWS_WITH_AS(
      layers::build_toolchain_layer(ctx, matrix::get(KSIMG_SRC_DIR).recipe("ko-gcc4.4.7-mipsel"), layout),
      doctest::Contains("ksimg lock --recipe ko-gcc4.4.7-mipsel"), UsageError);
}
