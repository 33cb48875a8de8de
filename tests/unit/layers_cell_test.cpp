// Cell images: base layer normalisation, the launcher layer and the cell image config.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "layers/base_layer.hpp"
#include "layers/cell_build.hpp"
#include "layers/cell_image.hpp"
#include "layers/launcher.hpp"
#include "matrix/resolver.hpp"
#include "oci/tar_read.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

TEST_CASE("dpkg status: only installed packages, with their versions") {
  std::string status =
      "Package: bc\nStatus: install ok installed\nVersion: 1.07.1-4\n\n"
      "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
      "Package: make\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.4.1-2\n";
  auto p = layers::installed_packages(status);
  REQUIRE(p.size() == 2);
  CHECK(p[0] == std::pair<std::string, std::string>{"bc", "1.07.1-4"});
  CHECK(p[1] == std::pair<std::string, std::string>{"make", "4.4.1-2"});
}

TEST_CASE("base drops: directories are emptied and kept, files removed, absent paths ignored") {
  TempDir t;
  fs::create_directories(t / "var/cache/apt/archives");
  std::ofstream(t / "var/cache/apt/pkgcache.bin") << "x";
  fs::create_directories(t / "etc");
  std::ofstream(t / "etc/machine-id") << "abc\n";
  std::ofstream(t / "etc/keep") << "k";
  layers::apply_drops(t.path(), {{"var/cache/apt", ""}, {"etc/machine-id", ""}, {"var/log", ""}});
  CHECK(fs::is_directory(t / "var/cache/apt"));
  CHECK(fs::is_empty(t / "var/cache/apt"));
  CHECK_FALSE(fs::exists(t / "etc/machine-id"));
  CHECK(fs::exists(t / "etc/keep"));
}

TEST_CASE("cell selection and tags come from the resolver") {
  const auto& m = matrix::builtin();
  auto k4 = matrix::resolve_cell(m, "k4/mipsel");
  CHECK(k4.recipe->name == "debian-bullseye-gcc10-mipsel");
  CHECK(k4.image_tag == "k4-mipsel");
  CHECK(matrix::resolve_cell(m, "k4/mipsel", std::string("bootlin")).image_tag == "k4-mipsel-bootlin");
  // A kernel of the cell's band resolves to the same tag as the cell named directly.
  CHECK(matrix::resolve(m, matrix::parse_version("5.10.223"), "mipsel").image_tag == k4.image_tag);
  CHECK(matrix::resolve(m, matrix::parse_version("5.10.223"), "mipsel", std::string("bootlin")).image_tag ==
        "k4-mipsel-bootlin");
  CHECK_THROWS_WITH_AS(matrix::resolve_cell(m, "k4/sparc"), doctest::Contains("unknown cell"), UsageError);
  CHECK_THROWS_WITH_AS(matrix::resolve_cell(m, "k2.6/arm64"), doctest::Contains("unsupported"), UsageError);
  CHECK_THROWS_WITH_AS(matrix::resolve_cell(m, "k6/mips64el", std::string("bootlin")),
                       doctest::Contains("sources are"), UsageError);
}

TEST_CASE("cell image config: Env, Cmd and labels the design names") {
  const auto& m = matrix::builtin();
  auto k = matrix::resolve_cell(m, "k4/x86_64");
  const matrix::Cell* c = k.cell;
  const matrix::Recipe* r = k.recipe;
  layers::CellImageFacts f{&m,       c,        r,          "k4-x86_64", {"/opt/tc/bin"}, "x86_64-linux-gnu-",
                           "10.2.1", "2.35.2", 1700000000, "abc"};
  auto s = layers::cell_image_spec(f);
  CHECK(s.env[0] == "PATH=/opt/tc/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (const char* e : {"ARCH=x86_64", "CROSS_COMPILE=x86_64-linux-gnu-", "KSIMG_ERA=k4", "KSIMG_ARCH=x86_64",
                        "KSIMG_RECIPE=debian-bullseye-gcc10-x86_64", "SOURCE_DATE_EPOCH=1700000000"}) {
    CAPTURE(e);
    CHECK(std::find(s.env.begin(), s.env.end(), e) != s.env.end());
  }
  CHECK(s.cmd == std::vector<std::string>{"kbuild", "--help"});
  CHECK(s.created == 1700000000);
  CHECK(s.labels.at("org.kernelsmith.cell") == "k4/x86_64");
  CHECK(s.labels.at("org.kernelsmith.gcc-version") == "10.2.1");
  CHECK(s.labels.at("org.kernelsmith.toolchain-source") == "debian");
  CHECK(s.labels.at("org.kernelsmith.kernels").find("except 4.0 <= v < 4.16 -> k3/x86_64") !=
        std::string::npos);
  CHECK(s.annotations == s.labels);
  CHECK(s.revision == "abc");
}

TEST_CASE("launcher layer: kbuild and the data, reproducibly") {
  TempDir t;
  fs::path kb = t / "kbuild";
  std::ofstream(kb) << "#!/bin/sh\necho fake kbuild\n";
  auto layout = oci::Layout::create(t / "oci");
  matrix::DataFiles data{{"matrix/eras.json", "{}"}, {"recipes/x.json", "{}"}};
  auto a = layers::build_launcher_layer(kb, data, 1700000000, oci::Compression::gzip, layout);
  auto b = layers::build_launcher_layer(kb, data, 1700000000, oci::Compression::gzip, layout);
  CHECK(a.descriptor.digest == b.descriptor.digest);
  std::vector<std::string> names;
  for (const auto& e : oci::list_tar(layout.blob_path(a.descriptor.digest))) names.push_back(e.path);
  CHECK(std::find(names.begin(), names.end(), "usr/local/bin/kbuild") != names.end());
  CHECK(std::find(names.begin(), names.end(), "usr/share/ksimg/matrix/eras.json") != names.end());
  CHECK(std::find(names.begin(), names.end(), "usr/share/ksimg/recipes/x.json") != names.end());
}
