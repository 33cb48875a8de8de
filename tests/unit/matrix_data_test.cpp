// Data files: every file loads, and broken data is rejected with a message naming the
// file and the fix.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "matrix/data.hpp"
#include "util/error.hpp"

using namespace ksimg;
using namespace ksimg::matrix;
using oj = nlohmann::ordered_json;

static DataFiles source_data() {
  return read_data_dir(KSIMG_SRC_DIR);
}

static void edit(DataFiles& f, const std::string& file, const std::function<void(oj&)>& fn) {
  oj j = oj::parse(f.at(file));
  fn(j);
  f[file] = j.dump(2);
}

static std::string load_error(const DataFiles& f) {
  try {
    load(f);
  } catch (const DataError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("the source tree's data loads and matches the built-in copy") {
  Matrix m = load(source_data());
  const Matrix& b = builtin();
  CHECK(m.cells.size() == b.cells.size());
  CHECK(m.recipes.size() == b.recipes.size());
  CHECK(m.eras.size() == 4);
  CHECK(m.arches.size() == 13);
  CHECK(m.cells.size() == 52);
  CHECK(m.exceptions.size() == 3);
}

TEST_CASE("the cells the project promises") {
  const Matrix& m = builtin();
  int debian = 0, bootlin_pins = 0, unsupported = 0;
  for (const auto& [k, c] : m.cells) {
    if (c.unsupported)
      ++unsupported;
    else if (m.recipe(*c.recipe).kind == "debian")
      ++debian;
  }
  for (const auto& [n, r] : m.recipes) bootlin_pins += r.kind == "tarball";
  CHECK(debian == 24);        // k4 and k6 x (11 kernel arches + riscv64)
  CHECK(bootlin_pins == 26);  // every Bootlin pin of facts §3.1
  CHECK(unsupported == 8);
  CHECK(m.cell("k4", "mipsel").recipe == "debian-bullseye-gcc10-mipsel");
  CHECK(m.cell("k6", "mipsel").recipe == "debian-trixie-gcc13-mipsel");
  CHECK(m.recipe("debian-trixie-gcc13-mipsel").gcc == "13.3.0");
  CHECK(m.recipe("bootlin-2024.05-1-x86_64").triple == "x86_64-buildroot-linux-musl");
  CHECK(m.arches.at("mips64el").boot.at("k4").cpu == "MIPS64R2-generic");
  CHECK(m.arches.at("armel").boot.at("k4").dtb == "versatile-pb.dtb");
  CHECK(m.arches.at("powerpc64le").boot.at("k6").disable ==
        std::vector<std::string>{"CPU_BIG_ENDIAN", "COMPAT", "VT"});
  for (const char* a : {"armel", "armhf", "arm64", "mipseb", "mipsel", "mips64eb", "mips64el", "powerpc",
                        "powerpc64", "powerpc64le", "x86_64"})
    for (const char* e : {"k4", "k6"}) {
      CAPTURE(a);
      CAPTURE(e);
      CHECK(m.arches.at(a).boot.count(e) == 1);
      CHECK(m.arches.at(a).defconfig.at(e).has_value());
      // boot configs are small (docs/sweep.md): tinyconfig + what reaches the root-fs panic
      CHECK(m.arches.at(a).boot.at(e).defconfig == "tinyconfig");
      CHECK(std::ranges::find(m.arches.at(a).boot.at(e).enable, "PRINTK") !=
            m.arches.at(a).boot.at(e).enable.end());
    }
}

TEST_CASE("host platforms: Debian cells with arm64-hosted toolchains, the reason for the others") {
  const Matrix& m = builtin();
  int arm64 = 0;
  for (const auto& [k, c] : m.cells) {
    if (c.unsupported) continue;
    const auto& r = m.recipe(*c.recipe);
    CAPTURE(r.name);
    CHECK(r.host_arches().front() == "amd64");
    if (r.no_arm64.empty()) {
      CHECK(r.kind == "debian");
      ++arm64;
    }
  }
  CHECK(arm64 == 21);  // 24 Debian cells; bullseye powerpc, powerpc64 and trixie powerpc64 are amd64-only
  CHECK(m.recipe("debian-bullseye-gcc10-powerpc").no_arm64.find("for amd64 hosts only") != std::string::npos);
  CHECK(m.recipe("bootlin-2024.05-1-x86_64").no_arm64 == "Bootlin's SDKs are built for x86_64 hosts only");
  CHECK(m.recipe("ko-gcc4.4.7-mipsel").no_arm64.find("amd64 base") != std::string::npos);
  CHECK(m.recipe("debian-trixie-gcc13-x86_64").host_arches() == std::vector<std::string>{"amd64", "arm64"});
}

TEST_CASE("unknown keys are rejected") {
  auto f = source_data();
  edit(f, "matrix/arches.json", [](oj& j) { j["arches"]["mipsel"]["endianess"] = "little"; });
  CHECK(load_error(f).find("unknown key \"endianess\"") != std::string::npos);
  f = source_data();
  edit(f, "matrix/cells.json", [](oj& j) { j["cells"]["k3/mipsel"]["recipes"] = "x"; });
  CHECK(load_error(f).find("matrix/cells.json.cells.k3/mipsel: unknown key \"recipes\"") !=
        std::string::npos);
  f = source_data();
  edit(f, "recipes/debian-bullseye-gcc10-mipsel.json", [](oj& j) { j["gcc_version"] = "10"; });
  CHECK(load_error(f).find("recipes/debian-bullseye-gcc10-mipsel.json: unknown key") != std::string::npos);
}

TEST_CASE("missing arches and missing cells are rejected") {
  auto f = source_data();
  edit(f, "matrix/arches.json", [](oj& j) { j["arches"].erase("riscv64"); });
  CHECK(load_error(f).find("riscv64") != std::string::npos);
  f = source_data();
  edit(f, "matrix/cells.json", [](oj& j) { j["cells"].erase("k6/armhf"); });
  CHECK(load_error(f).find("cell k6/armhf is missing") != std::string::npos);
}

TEST_CASE("duplicate cells are rejected") {
  auto f = source_data();
  std::string& text = f.at("matrix/cells.json");
  auto pos = text.find("\"k3/mipsel\"");
  REQUIRE(pos != std::string::npos);
  text.insert(pos, "\"k3/mipsel\": {\"unsupported\": \"dup\"},\n    ");
  CHECK(load_error(f).find("\"k3/mipsel\" appears twice") != std::string::npos);
}

TEST_CASE("cells naming a recipe that does not exist are rejected") {
  auto f = source_data();
  edit(f, "matrix/cells.json",
       [](oj& j) { j["cells"]["k4/mipsel"]["recipe"] = "debian-bullseye-gcc10-mipsle"; });
  CHECK(load_error(f).find("names recipe \"debian-bullseye-gcc10-mipsle\", which has no file") !=
        std::string::npos);
  f = source_data();
  f.erase("recipes/bootlin-2018.02-1-mipsel.json");
  CHECK(load_error(f).find("bootlin-2018.02-1-mipsel") != std::string::npos);
  f = source_data();
  edit(f, "matrix/cells.json",
       [](oj& j) { j["cells"]["k4/mipsel"]["recipe"] = "debian-bullseye-gcc10-mipseb"; });
  CHECK(load_error(f).find("which is for arch mipseb") != std::string::npos);
}

TEST_CASE("other structural errors") {
  auto f = source_data();
  edit(f, "matrix/exceptions.json", [](oj& j) { j["exceptions"][0]["use_cell"] = "k4/x86_64"; });
  CHECK(load_error(f).find("does not meet the requirement itself") != std::string::npos);
  f = source_data();
  edit(f, "matrix/eras.json", [](oj& j) { j["eras"][2]["from"] = "4.1"; });
  CHECK(load_error(f).find("must start where the previous band ends") != std::string::npos);
  f = source_data();
  f["matrix/cells.json"] = "{ \"schema\": 1, ";
  CHECK(load_error(f).find("invalid JSON") != std::string::npos);
  f = source_data();
  edit(f, "matrix/cells.json", [](oj& j) { j["cells"]["k3/mipsel"]["unsupported"] = "both"; });
  CHECK(load_error(f).find("exactly one of") != std::string::npos);
}

TEST_CASE("enable_by_version entries need a bound and an ordered range") {
  auto f = source_data();
  edit(f, "matrix/arches.json", [](oj& j) {
    j["arches"]["riscv64"]["boot"]["k6"]["enable_by_version"] = oj::parse(R"([{"symbol":"X"}])");
  });
  CHECK(load_error(f).find("needs \"from\" or \"below\"") != std::string::npos);
  f = source_data();
  edit(f, "matrix/arches.json", [](oj& j) {
    j["arches"]["riscv64"]["boot"]["k6"]["enable_by_version"] =
        oj::parse(R"([{"symbol":"X","from":"6.7","below":"6.7"}])");
  });
  CHECK(load_error(f).find("\"from\" must be below \"below\"") != std::string::npos);
  f = source_data();
  edit(f, "matrix/arches.json", [](oj& j) {
    j["arches"]["riscv64"]["boot"]["k6"]["enable_by_version"] =
        oj::parse(R"([{"symbol":"X","since":"6.7"}])");
  });
  CHECK(load_error(f).find("unknown key \"since\"") != std::string::npos);
}
