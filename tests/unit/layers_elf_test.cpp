// Unit tests for src/layers/elf: ELF files built here with the host C compiler (one linked
// against libz, one static, one shared library with RUNPATH/RPATH and a SONAME), a
// hand-made big-endian MIPS header, and malformed input.
#include <doctest/doctest.h>

#include "layers/elf.hpp"
#include "layers_fixture.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace layers_test;

namespace {

const char* kZlibMain = "#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n";
const char* kMain = "int main(void) { return 0; }\n";

layers::ElfInfo parse(const fs::path& p) {
  return layers::read_elf(read_file(p), p.string());
}

}  // namespace

TEST_CASE("elf: a program linked against libz names libz, libc and its interpreter") {
  TempDir t("elf");
  compile(kZlibMain, {"-lz"}, t / "dyn");
  auto e = parse(t / "dyn");
  auto host = layers::host_elf();
  CHECK(e.header.machine == host.machine);
  CHECK(e.header.elf_class == host.elf_class);
  CHECK(e.dynamic);
  REQUIRE(e.interp.has_value());
  CHECK(e.interp->find("ld-linux") != std::string::npos);
  CHECK(std::find(e.needed.begin(), e.needed.end(), "libz.so.1") != e.needed.end());
  CHECK(std::find(e.needed.begin(), e.needed.end(), "libc.so.6") != e.needed.end());
  CHECK(e.runpath.empty());
  CHECK(e.rpath.empty());
}

TEST_CASE("elf: a static program has no interpreter and no DT_NEEDED") {
  TempDir t("elf");
  compile(kMain, {"-static"}, t / "static");
  auto e = parse(t / "static");
  CHECK(e.header.type == ET_EXEC);
  CHECK_FALSE(e.interp.has_value());
  CHECK(e.needed.empty());
  CHECK(e.header.machine == layers::host_elf().machine);
}

TEST_CASE("elf: RUNPATH, RPATH and SONAME of shared libraries") {
  TempDir t("elf");
  compile("int f(void) { return 1; }\n",
          {"-shared", "-fPIC", "-Wl,-soname,libf.so.7", "-Wl,--enable-new-dtags",
           "-Wl,-rpath,$ORIGIN/../lib:/opt/x"},
          t / "libf.so");
  auto e = parse(t / "libf.so");
  CHECK(e.header.type == ET_DYN);
  CHECK(e.soname == "libf.so.7");
  CHECK(e.runpath == std::vector<std::string>{"$ORIGIN/../lib", "/opt/x"});
  CHECK(e.rpath.empty());
  CHECK_FALSE(e.interp.has_value());
  compile("int g(void) { return 2; }\n",
          {"-shared", "-fPIC", "-Wl,--disable-new-dtags", "-Wl,-rpath,/opt/old"}, t / "libg.so");
  auto g = parse(t / "libg.so");
  CHECK(g.rpath == std::vector<std::string>{"/opt/old"});
  CHECK(g.runpath.empty());
}

TEST_CASE("elf: headers of other machines and byte orders") {
  auto h = layers::peek_elf_header(fake_elf(EM_MIPS, ELFCLASS32, true, ET_EXEC));
  REQUIRE(h.has_value());
  CHECK(h->machine == EM_MIPS);
  CHECK(h->elf_class == ELFCLASS32);
  CHECK(h->big_endian);
  CHECK(h->type == ET_EXEC);
  auto l = layers::peek_elf_header(fake_elf(EM_AARCH64));
  REQUIRE(l.has_value());
  CHECK(l->machine == EM_AARCH64);
  CHECK_FALSE(l->big_endian);
  // A header alone has no program headers: nothing dynamic, and no error.
  auto info = layers::read_elf(fake_elf(EM_MIPS, ELFCLASS32, true), "mips.so");
  CHECK_FALSE(info.dynamic);
}

TEST_CASE("elf: non-ELF and truncated input") {
  CHECK_FALSE(layers::is_elf("#!/bin/sh\n"));
  CHECK_FALSE(layers::peek_elf_header("\x7f"
                                      "ELF")
                  .has_value());
  CHECK_THROWS_AS(layers::read_elf("not an elf file at all, but long enough to have a header..........", "x"),
                  IntegrityError);
  TempDir t("elf");
  compile(kZlibMain, {"-lz"}, t / "dyn");
  std::string bytes = read_file(t / "dyn");
  std::string cut = bytes.substr(0, 200);  // header intact, program headers and tables cut off
  CHECK_THROWS_WITH_AS(layers::read_elf(cut, "cut-binary"), doctest::Contains("cut-binary"), IntegrityError);
}
