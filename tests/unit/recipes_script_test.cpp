// Unit tests for script recipes (src/recipes/script.*, recipes/README.md "kind script"):
// the project's script recipes validate and pin what kernelsmith pins (facts §3.2), schema
// mistakes are data errors naming the key (an input pinned by neither sha256 nor nar_sha256
// among them), and their lock entries (docs/lock.md): locked, with every input and its pins.
#include <doctest/doctest.h>

#include <cstdlib>

#include "http/transport.hpp"
#include "matrix/data.hpp"
#include "recipes/lock.hpp"
#include "recipes/locker.hpp"
#include "recipes/script.hpp"
#include "recipes/spec.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::recipes;

namespace {

const std::string kHead =
    R"({"name": "r", "kind": "script", "arch": "mipsel", "gcc": "4.4.7", "libc": "none", "triple": "mipsel-linux", )";
const std::string kInput = R"({"name": "gcc-4.4.7.tar.bz2", "urls": ["https://x.test/gcc-4.4.7.tar.bz2"], )"
                           R"("sha256": "5ff75116b8f763fa0fb5621af80fc6fb3ea0f1b1a57520874982f03f26cd607f"})";

// A script recipe with `extra` keys after the required ones (builder, install_dir, inputs).
std::map<std::string, Spec> one(const std::string& extra, const std::string& inputs = "[" + kInput + "]") {
  std::string json = kHead + R"("builder": "kernel-only", "install_dir": "/opt/toolchains/r", "inputs": )" +
                     inputs + extra + "}";
  return load_specs({{"recipes/r.json", json}});
}

bool has_input(const Spec& s, const std::string& prefix) {
  for (const auto& in : s.script.inputs)
    if (in.name.rfind(prefix, 0) == 0 && in.name.find(".tar.") == prefix.size()) return true;
  return false;
}

}  // namespace

TEST_CASE("script recipes: the project's recipes validate and pin their sources") {
  auto specs = load_specs(matrix::data_files(KSIMG_SRC_DIR));
  const Spec& ko = specs.at("ko-gcc4.4.7-mipsel");
  CHECK(ko.script.builder == "kernel-only");
  CHECK(ko.script.install_dir == "/opt/toolchains/ko-gcc4.4.7-mipsel");
  CHECK(ko.script.gcc_configure == std::vector<std::string>{"--with-arch=mips32r2"});
  CHECK(ko.script.steps.empty());  // the builder's template
  REQUIRE(ko.script.inputs.size() == 4);
  CHECK(ko.script.inputs[1].name == "gcc-4.4.7.tar.bz2");
  CHECK(ko.script.inputs[1].urls.at(0) == "https://ftp.gnu.org/gnu/gcc/gcc-4.4.7/gcc-4.4.7.tar.bz2");
  CHECK(ko.script.inputs[1].sha256 == "5ff75116b8f763fa0fb5621af80fc6fb3ea0f1b1a57520874982f03f26cd607f");
  CHECK(specs.at("ko-gcc6.5.0-powerpc64").script.inputs.size() == 5);  // + mpc (gcc >= 4.5)
  const Spec& mcm = specs.at("mcm-gcc6.5.0-x86_64");
  CHECK(mcm.script.inputs.at(0).name == "musl-cross-make-227df8b99103f9c59f6570babf892978e293082f.tar.gz");
  CHECK_FALSE(mcm.script.inputs.at(0).sha256.has_value());  // a git archive: pinned by its tree
  CHECK(mcm.script.inputs.at(0).nar_sha256 == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
  size_t scripts = 0;
  for (const auto& [name, s] : specs) {
    if (s.kind != "script") continue;
    ++scripts;
    const auto& r = matrix::get(KSIMG_SRC_DIR).recipe(name);
    CHECK_MESSAGE(has_input(s, "gcc-" + r.gcc), name);  // the inputs build the versions it claims
    CHECK_MESSAGE(has_input(s, "binutils-" + r.binutils.value_or("?")), name);
    for (const auto& in : s.script.inputs)
      CHECK_MESSAGE(
          (in.sha256.has_value() || (in.name.rfind("musl-cross-make-", 0) == 0 && !in.nar_sha256.empty())),
          name << ": " << in.name);
  }
  CHECK(scripts == 19);
}

TEST_CASE("script recipes: schema mistakes are data errors naming the key") {
  CHECK(one("").at("r").script.inputs.size() == 1);
  CHECK(
      one(R"(, "steps": ["make"], "gcc_configure": ["--with-arch=mips32r2"])").at("r").script.steps.size() ==
      1);
  auto tree =
      one("",
          R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"], "nar_sha256": "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="}])")
          .at("r")
          .script.inputs[0];
  CHECK_FALSE(tree.sha256);
  CHECK(tree.nar_sha256 == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
  auto bad = [](const std::string& extra, const std::string& inputs, const std::string& says) {
    CHECK_THROWS_WITH_AS(one(extra, inputs), doctest::Contains(says.c_str()), DataError);
  };
  const std::string in1 = "[" + kInput + "]";
  bad("", "[]", "lists no inputs");
  bad("", R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"]}])", "is not pinned");
  bad("", R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"], "sha256": null}])", "is not pinned");
  bad("", R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"], "nar_sha256": "sha256-abc"}])",
      "sha256-<base64");
  bad("", R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"], "nar_sha256": "5ff75116"}])",
      "sha256-<base64");
  bad("", R"([{"name": "a.tar.gz", "urls": ["https://x.test/a"], "sha256": "ABC"}])", "64 lowercase hex");
  bad("",
      R"([{"name": "../a.tar.gz", "urls": ["https://x.test/a"], "nar_sha256": "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="}])",
      "file name");
  bad("",
      R"([{"name": "a.tgz", "urls": ["ftp://x.test/a"], "nar_sha256": "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="}])",
      "not an http(s) URL");
  bad("",
      R"([{"name": "a.tgz", "urls": [], "nar_sha256": "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="}])",
      "lists no URLs");
  bad("",
      R"([{"name": "a.tgz", "urls": ["https://x"], "nar_sha256": "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=", "size": 1}])",
      "unknown key \"size\"");
  bad("", "[" + kInput + ", " + kInput + "]", "listed twice");
  bad(R"(, "steps": [])", in1, "omit it");
  bad(R"(, "gcc_configure": ["--with-arch=mips32r2 --x"])", in1, "one --flag[=value]");
  bad(R"(, "gcc_configure": ["with-arch"])", in1, "one --flag[=value]");
  bad(R"(, "relocate": "x.sh")", in1, "belongs to kind tarball");
  CHECK_THROWS_WITH_AS(load_specs({{"recipes/r.json", kHead + R"("builder": "make", "install_dir": "/opt/x",
                                     "inputs": [)" + kInput +
                                                          "]}"}}),
                       doctest::Contains("unknown builder"), DataError);
  for (std::string dir : {"opt/x", "/usr/local/x", "/opt/", "/opt/a/../b", "/opt/x/", "/opt/a b"})
    CHECK_THROWS_WITH_AS(
        load_specs({{"recipes/r.json", kHead + R"("builder": "kernel-only", "install_dir": ")" + dir +
                                           R"(", "inputs": [)" + kInput + "]}"}}),
        doctest::Contains("below /opt/"), DataError);
}

TEST_CASE("script recipe keys: install_dir is shared with tarball recipes, other keys are not") {
  const std::string t = R"({"name": "t", "kind": "tarball", "arch": "mipsel", "gcc": "1", "libc": "x",
    "triple": "t", "release": "r", "urls": ["https://x.test/a"], "install_dir": "/opt/x", "relocate": "r.sh",
    "sha256": "5ff75116b8f763fa0fb5621af80fc6fb3ea0f1b1a57520874982f03f26cd607f")";
  CHECK(load_specs({{"recipes/t.json", t + "}"}}).at("t").tarball.install_dir == "/opt/x");
  CHECK_THROWS_WITH_AS(load_specs({{"recipes/t.json", t + R"(, "inputs": []})"}}),
                       doctest::Contains("belongs to kind script"), DataError);
  CHECK(valid_configure_arg("--with-arch=mips32r2"));
  CHECK(valid_configure_arg("--disable-multilib"));
  CHECK_FALSE(valid_configure_arg("--with-x=$(id)"));
  CHECK_FALSE(valid_configure_arg("--with-x='a'"));
  CHECK(valid_input_name("musl-cross-make-227df8b9.tar.gz"));
  CHECK_FALSE(valid_input_name(".hidden"));
  CHECK_FALSE(valid_input_name("a/b"));
}

TEST_CASE("script lock entries: locked with the inputs and their pins, by bytes or by tree") {
  auto specs = load_specs(matrix::data_files(KSIMG_SRC_DIR));
  LockedRecipe ko = lock_script(specs.at("ko-gcc4.4.7-mipsel"));
  CHECK(ko.status == "locked");
  CHECK(ko.reason.empty());
  REQUIRE(ko.inputs.size() == 4);
  CHECK(ko.inputs[0].name == "binutils-2.27.tar.bz2");
  CHECK(ko.inputs[0].sha256 == "369737ce51587f92466041a97ab7d2358c6d9e1b6490b3940eb09fb0a9a6ac88");
  CHECK(ko.recipe_sha256 == specs.at("ko-gcc4.4.7-mipsel").recipe_sha256);
  LockedRecipe mcm = lock_script(specs.at("mcm-gcc9.4.0-riscv64"));
  CHECK(mcm.status == "locked");
  CHECK(mcm.reason.empty());
  REQUIRE(mcm.inputs.size() > 1);
  CHECK(mcm.inputs[0].sha256.empty());
  CHECK(mcm.inputs[0].nar_sha256 == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
  CHECK(mcm.inputs[1].nar_sha256.empty());

  Lock l;
  l.source_date_epoch = 1700000000;
  l.recipes["ko"] = ko;
  l.recipes["mcm"] = mcm;
  std::string text = render_lock(l);
  CHECK(text.find("\"nar_sha256\": \"sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=\"") !=
        std::string::npos);
  CHECK(text.find("\"sha256\": null") == std::string::npos);
  CHECK(text.find("\"sha256\": \"\"") == std::string::npos);  // a tree pin writes no empty sha256
  Lock back = parse_lock(text, "L");
  CHECK(render_lock(back) == text);
  CHECK(back.recipes.at("ko").inputs.at(3).name == "mpfr-2.4.2.tar.bz2");
  CHECK(back.recipes.at("mcm").inputs.at(0).nar_sha256 == mcm.inputs[0].nar_sha256);
  CHECK(back.recipes.at("mcm").inputs.at(0).sha256.empty());
}

TEST_CASE("script lock entries: old pending entries still read, malformed inputs do not") {
  const std::string head = R"({"schema": 1, "source_date_epoch": 1, "debian_suites": {}, "recipes": {"s": )";
  const std::string sha = std::string(64, 'a');
  auto parse = [&](const std::string& entry) { return parse_lock(head + entry + "}}", "L"); };
  CHECK(parse(R"({"kind": "script", "status": "pending", "recipe_sha256": ")" + sha + R"("})")
            .recipes.at("s")
            .reason.empty());
  CHECK_THROWS_WITH_AS(parse(R"({"kind": "script", "status": "locked", "recipe_sha256": ")" + sha + R"("})"),
                       doctest::Contains("missing key \"inputs\""), DataError);
  CHECK_THROWS_WITH_AS(
      parse(R"({"kind": "script", "status": "locked", "recipe_sha256": ")" + sha + R"(", "inputs": []})"),
      doctest::Contains("lists its inputs"), DataError);
  CHECK_THROWS_WITH_AS(parse(R"({"kind": "script", "status": "locked", "recipe_sha256": ")" + sha +
                             R"(", "inputs": [{"name": "a", "urls": [], "sha256": "xyz"}]})"),
                       doctest::Contains("64 lowercase hex"), DataError);
  CHECK_THROWS_WITH_AS(parse(R"({"kind": "script", "status": "locked", "recipe_sha256": ")" + sha +
                             R"(", "inputs": [{"name": "a", "urls": []}]})"),
                       doctest::Contains("neither sha256 nor nar_sha256"), DataError);
}

TEST_CASE("ksimg lock: script recipes lock without network, tree pins included") {
  TempDir dir("ksimg-lock");
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  LockRequest req;
  req.data_dir = KSIMG_SRC_DIR;
  req.recipes = {"ko-gcc6.5.0-powerpc64", "mcm-gcc13.3.0-mips64el"};
  req.lock_file = dir / "ksimg.lock.json";
  req.keyring = "/nonexistent";
  auto t = http::make_transport();
  auto res = lock_recipes(req, *t);
  ::unsetenv("SOURCE_DATE_EPOCH");
  CHECK(res.written);
  Lock l = parse_lock(files::read(req.lock_file), "L");
  CHECK(l.recipes.at("ko-gcc6.5.0-powerpc64").status == "locked");
  CHECK(l.recipes.at("ko-gcc6.5.0-powerpc64").inputs.at(4).name == "mpc-1.1.0.tar.gz");
  CHECK(l.recipes.at("mcm-gcc13.3.0-mips64el").status == "locked");
  CHECK(l.recipes.at("mcm-gcc13.3.0-mips64el").inputs.at(0).nar_sha256 ==
        "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
  REQUIRE(res.recipes.size() == 2);
  CHECK(res.recipes[1].status == "locked");
}
