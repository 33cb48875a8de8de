// TuxMake-compatible keys in metadata.json (kbuild/tuxmake.hpp), checked against the key set
// TuxMake documents (docs/metadata.md) and what `tuxrun --tuxmake OUT` reads: build.target_arch
// (TuxMake's arch names), results.artifacts.kernel[0] and .modules[0] (files in OUT).
#include <doctest/doctest.h>

#include "kbuild/tuxmake.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using json = nlohmann::ordered_json;

namespace {

json sample() {
  return json::parse(R"({
    "schema": 1, "status": "running", "kernel": {"version": "5.10.223", "release": "5.10.223"},
    "era": "k4", "cell": "k4/arm64", "arch": "arm64", "kernel_arch": "arm64",
    "image": {"tag": "kernelsmith:k4-arm64", "ref": "127.0.0.1:5000/ns/kernelsmith:k4-arm64",
              "digest": "sha256:1111111111111111111111111111111111111111111111111111111111111111"},
    "toolchain": {"recipe": "debian-bullseye-gcc10-arm64", "gcc": "10.2.1", "binutils": "2.35.2",
                  "cross_compile": "aarch64-linux-gnu-"},
    "make": {"jobs": 2}, "config": {"source": "boot-config"},
    "source": {"kind": "download", "origin": "http://127.0.0.1/v5.x/linux-5.10.223.tar.xz", "sha256": "ab"},
    "targets": {"vmlinux": {"status": "ok", "seconds": 100.5}, "image": {"status": "ok", "seconds": 3},
                "modules": {"status": "ok", "seconds": 9}, "dtbs": {"status": "skipped", "seconds": 0}},
    "artifacts": {"vmlinux": {}, "System.map": {}, "Image.gz": {}, ".config": {}}})");
}

}  // namespace

TEST_CASE("tuxmake: arch names") {
  CHECK(kbuild::tuxmake_arch("mipsel") == "mips");
  CHECK(kbuild::tuxmake_arch("mips64el") == "mips");
  CHECK(kbuild::tuxmake_arch("mipseb") == "mips");
  CHECK(kbuild::tuxmake_arch("powerpc64le") == "powerpc");
  CHECK(kbuild::tuxmake_arch("riscv64") == "riscv");
  for (const char* same : {"arm64", "armel", "armhf", "x86_64"}) CHECK(kbuild::tuxmake_arch(same) == same);
}

TEST_CASE("tuxmake: the documented key set, and what tuxrun --tuxmake reads") {
  TempDir t("tux");
  std::filesystem::create_directories(t.path() / "dtbs/arm");
  files::write_atomic(t.path() / "dtbs/arm/juno.dtb", "d");
  files::write_atomic(t.path() / "modules.tar.xz", "x");
  json doc = sample();
  kbuild::add_tuxmake_keys(doc, t.path(), "Image.gz");
  for (const char* k : {"build", "results", "compiler", "runtime", "tools", "source"}) CHECK(doc.contains(k));
  for (const char* k :
       {"target_arch", "toolchain", "targets", "kconfig", "jobs", "runtime", "reproducer_cmdline"})
    CHECK(doc["build"].contains(k));
  CHECK(doc["build"]["target_arch"] == "arm64");
  CHECK(doc["build"]["toolchain"] == "gcc-10");
  CHECK(doc["results"]["status"] == "PASS");
  CHECK(doc["results"]["targets"]["vmlinux"] == json{{"status", "PASS"}, {"duration", 100.5}});
  CHECK(doc["results"]["targets"]["dtbs"]["status"] == "SKIP");
  const auto& a = doc["results"]["artifacts"];
  CHECK(a["kernel"] == json::array({"Image.gz"}));
  CHECK(a["modules"] == json::array({"modules.tar.xz"}));
  CHECK(a["dtbs"] == json::array({"dtbs/arm/juno.dtb"}));
  CHECK(a["config"] == json::array({".config"}));
  CHECK(doc["compiler"]["name"] == "gcc");
  CHECK(doc["compiler"]["version"] == "10.2.1");
  CHECK(doc["runtime"]["image_digest"] == sample()["image"]["digest"]);
  CHECK(doc["runtime"]["image_name"] == "127.0.0.1:5000/ns/kernelsmith:k4-arm64");
  CHECK(doc["tools"]["ld"] == "2.35.2");
  CHECK(doc["source"]["kernelversion"] == "5.10.223");
  CHECK(doc["source"]["kernelrelease"] == "5.10.223");
  CHECK(doc["source"]["kind"] == "download");  // kbuild's own source keys stay
  CHECK(doc["source"]["sha256"] == "ab");
  CHECK(doc["schema"] == 1);  // kbuild's own keys stay
  CHECK(doc["artifacts"].contains("vmlinux"));
}

TEST_CASE("tuxmake: vmlinux is the kernel when no boot image was built, and a failed target fails") {
  TempDir t("tux");
  json doc = sample();
  doc["targets"]["modules"]["status"] = "failed";
  kbuild::add_tuxmake_keys(doc, t.path(), "");
  CHECK(doc["results"]["artifacts"]["kernel"] == json::array({"vmlinux"}));
  CHECK_FALSE(doc["results"]["artifacts"].contains("modules"));
  CHECK_FALSE(doc["results"]["artifacts"].contains("dtbs"));
  CHECK(doc["results"]["status"] == "FAIL");
  doc["arch"] = "mipsel";
  kbuild::add_tuxmake_keys(doc, t.path(), "");
  CHECK(doc["build"]["target_arch"] == "mips");
}
