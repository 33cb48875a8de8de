// matrix/quirks.json: loading, validation, and every quirk's trigger matching and not matching
// (every quirk trigger has a case).
#include <doctest/doctest.h>

#include <algorithm>

#include "matrix/data.hpp"
#include "matrix/quirks.hpp"
#include "util/error.hpp"

using namespace ksimg;
using matrix::QuirkContext;

namespace {

QuirkContext ctx(const char* era, const char* arch, const char* kernel, const char* gcc,
                 const char* source = "debian") {
  return {era, arch, source, matrix::parse_version(kernel), gcc};
}

bool applies(const std::string& id, const QuirkContext& c) {
  const auto& all = matrix::builtin_quirks();
  auto it = std::find_if(all.begin(), all.end(), [&](const matrix::Quirk& q) { return q.id == id; });
  REQUIRE_MESSAGE(it != all.end(), "no quirk " << id);
  return matrix::matches(it->trigger, c);
}

matrix::DataFiles with_quirks(const std::string& text) {
  auto f = matrix::data_files("");
  f["matrix/quirks.json"] = text;
  return f;
}

}  // namespace

TEST_CASE("the built-in quirks load and each has a reason and evidence") {
  const auto& q = matrix::builtin_quirks();
  CHECK(q.size() >= 14);
  for (const auto& x : q) {
    CHECK_MESSAGE(!x.reason.empty(), x.id);
    CHECK_MESSAGE(!x.evidence.empty(), x.id);
  }
}

TEST_CASE("quirks that apply to every build") {
  for (const char* id : {"wno-error-wrapper", "hermetic-build-identity", "kconfig-warn-unknown-symbols",
                         "capability-gcc-plugins", "capability-samples"}) {
    CHECK(applies(id, ctx("k4", "mipsel", "5.10.223", "10.2.1")));
    CHECK(applies(id, ctx("k2.6", "x86_64", "2.6.31", "4.4.7", "script")));
  }
}

TEST_CASE("k2.6 quirks: nopedantic, compiler-gcc shim, gnu89 inline, timeconst, oldconfig") {
  CHECK(applies("k2.6-nopedantic", ctx("k2.6", "armel", "2.6.31", "4.4.7")));
  CHECK_FALSE(applies("k2.6-nopedantic", ctx("k3", "armel", "3.18.140", "6.4.0")));
  // gcc >= 5 only: a no-op for the period gcc 4.4.7
  CHECK(applies("k2.6-compiler-gcc-header-shim", ctx("k2.6", "mipsel", "2.6.31", "5.5.0")));
  CHECK_FALSE(applies("k2.6-compiler-gcc-header-shim", ctx("k2.6", "mipsel", "2.6.31", "4.4.7")));
  CHECK_FALSE(applies("k2.6-compiler-gcc-header-shim", ctx("k3", "mipsel", "3.18.140", "6.4.0")));
  CHECK_FALSE(applies("k2.6-gnu89-inline", ctx("k2.6", "mipsel", "2.6.39.4", "4.9.4")));
  CHECK(applies("k2.6-gnu89-inline", ctx("k2.6", "mipsel", "2.6.39.4", "13.3.0")));
  CHECK_FALSE(applies("k2.6-gnu89-inline", ctx("k4", "mipsel", "5.10.223", "10.2.1")));
  CHECK(applies("k2.6-timeconst-defined-array", ctx("k2.6", "x86_64", "2.6.31", "4.4.7")));
  CHECK_FALSE(applies("k2.6-timeconst-defined-array", ctx("k2.6", "x86_64", "2.6.37", "4.4.7")));
  CHECK(applies("k2.6-oldconfig", ctx("k2.6", "armel", "2.6.35", "4.4.7")));
  CHECK_FALSE(applies("k2.6-oldconfig", ctx("k2.6", "armel", "2.6.36", "4.4.7")));
}

TEST_CASE("host -fcommon quirks split at 4.19 and end at 5.7") {
  CHECK(applies("host-fcommon-restated", ctx("k3", "mipsel", "3.18.140", "6.4.0")));
  CHECK(applies("host-fcommon-restated", ctx("k4", "mipsel", "4.14", "10.2.1")));
  CHECK_FALSE(applies("host-fcommon-restated", ctx("k4", "mipsel", "4.19", "10.2.1")));
  CHECK_FALSE(applies("host-fcommon-restated", ctx("k2.6", "mipsel", "2.6.31", "4.4.7")));
  CHECK(applies("host-fcommon-append", ctx("k4", "mipsel", "4.19.300", "10.2.1")));
  CHECK(applies("host-fcommon-append", ctx("k4", "mipsel", "5.6.19", "10.2.1")));
  CHECK_FALSE(applies("host-fcommon-append", ctx("k4", "mipsel", "5.7", "10.2.1")));
  CHECK_FALSE(applies("host-fcommon-append", ctx("k4", "mipsel", "5.10.223", "10.2.1")));
}

TEST_CASE("arch quirks: ppc64le COMPAT, k2.6 ppc64 FTRACE, endianness and word size") {
  CHECK(applies("capability-ppc64le-compat", ctx("k6", "powerpc64le", "6.6", "13.3.0")));
  CHECK_FALSE(applies("capability-ppc64le-compat", ctx("k6", "powerpc64", "6.6", "13.3.0")));
  CHECK(applies("k2.6-ppc64-ftrace", ctx("k2.6", "powerpc64", "2.6.31", "4.4.7", "script")));
  CHECK_FALSE(applies("k2.6-ppc64-ftrace", ctx("k3", "powerpc64", "3.18.140", "6.5.0", "script")));
  CHECK_FALSE(applies("k2.6-ppc64-ftrace", ctx("k2.6", "powerpc", "2.6.31", "4.4.7", "script")));
  CHECK(applies("arch-little-endian", ctx("k4", "mipsel", "5.10.223", "10.2.1")));
  CHECK(applies("arch-little-endian", ctx("k6", "powerpc64le", "6.6", "13.3.0")));
  CHECK_FALSE(applies("arch-little-endian", ctx("k4", "mipseb", "5.10.223", "10.2.1")));
  CHECK(applies("arch-big-endian", ctx("k4", "mipseb", "5.10.223", "10.2.1")));
  CHECK_FALSE(applies("arch-big-endian", ctx("k4", "armel", "5.10.223", "10.2.1")));
  CHECK(applies("arch-64bit-mips", ctx("k4", "mips64el", "5.10.223", "10.2.1")));
  CHECK_FALSE(applies("arch-64bit-mips", ctx("k4", "mipsel", "5.10.223", "10.2.1")));
  CHECK(applies("arch-64bit-powerpc", ctx("k4", "powerpc64", "5.10.223", "10.2.1")));
  CHECK_FALSE(applies("arch-64bit-powerpc", ctx("k4", "powerpc", "5.10.223", "10.2.1")));
}

TEST_CASE("trigger on toolchain source and gcc below") {
  matrix::QuirkTrigger t;
  t.sources = {"bootlin"};
  t.gcc_below = std::string("7");  // (gcc 12 -Wrestrict misfires on optional<string> = "7")
  CHECK(matrix::matches(t, ctx("k3", "mipsel", "3.18.140", "6.4.0", "bootlin")));
  CHECK_FALSE(matrix::matches(t, ctx("k3", "mipsel", "3.18.140", "6.4.0", "debian")));
  CHECK_FALSE(matrix::matches(t, ctx("k3", "mipsel", "3.18.140", "7.3.0", "bootlin")));
}

TEST_CASE("select_quirks keeps data order") {
  auto sel = matrix::select_quirks(matrix::builtin_quirks(), ctx("k4", "mipsel", "5.10.223", "10.2.1"));
  REQUIRE(sel.size() >= 3);
  CHECK(sel[0]->id == "wno-error-wrapper");
}

TEST_CASE("bad quirks files are data errors naming the problem") {
  const auto& m = matrix::builtin();
  // Built with += (gcc 12's -Wrestrict misfires on literal + string + literal chains).
  auto bad = [&](const std::string& q) {
    std::string doc = R"({"schema":1,"quirks":[)";
    doc += q;
    doc += "]}";
    return with_quirks(doc);
  };
  auto quirk = [](const char* trigger, const char* action) {
    std::string s = R"({"id":"a","trigger":)";
    s += trigger;
    s += R"(,"action":)";
    s += action;
    s += R"(,"reason":"r","evidence":"e"})";
    return s;
  };
  CHECK_THROWS_WITH_AS(
      matrix::load_quirks(bad(quirk(R"({"eras":["k5"]})", R"({"kind":"wrapper_flag","value":"-x"})")), m),
      doctest::Contains("unknown era"), DataError);
  CHECK_THROWS_WITH_AS(matrix::load_quirks(bad(quirk("{}", R"({"kind":"shell","value":"rm"})")), m),
                       doctest::Contains("unknown action kind"), DataError);
  CHECK_THROWS_WITH_AS(matrix::load_quirks(bad(quirk("{}", R"({"kind":"patch","patch":"nope"})")), m),
                       doctest::Contains("unknown patch"), DataError);
  CHECK_THROWS_WITH_AS(
      matrix::load_quirks(bad(quirk("{}", R"({"kind":"config_normalize","value":"olddefconf"})")), m),
      doctest::Contains("unknown normalize target"), DataError);
  std::string two = quirk("{}", R"({"kind":"wrapper_flag","value":"-x"})");
  two += ",";
  two += quirk("{}", R"({"kind":"wrapper_flag","value":"-x"})");
  CHECK_THROWS_WITH_AS(matrix::load_quirks(bad(two), m), doctest::Contains("duplicate quirk id"), DataError);
  CHECK_THROWS_WITH_AS(
      matrix::load(bad(quirk(R"({"arches":["vax"]})", R"({"kind":"wrapper_flag","value":"-x"})"))),
      doctest::Contains("unknown arch"), DataError);
}
