// Unit tests for src/layers/closure (and the merged tree under it): fixture layers written
// with LayerWriter, a toolchain layer holding programs built here with the host compiler, and
// base layers holding fake host ELF libraries behind merged-/usr style symlinks.
#include <doctest/doctest.h>

#include "layers/closure.hpp"
#include "layers/tree.hpp"
#include "layers_fixture.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace layers_test;

namespace {

const char* kZlibMain = "#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n";

// A scratch layout plus a directory per layer.
struct Fixture {
  TempDir t{"closure"};
  oci::Layout layout = oci::Layout::create(t / "oci");
  std::string multiarch =
      layers::default_library_dirs(layers::host_elf())[0].substr(5);  // "x86_64-linux-gnu"
  std::string interp;

  // A merged-/usr base: lib -> usr/lib, lib64/<ld.so> -> /lib/<multiarch>/<ld.so>, libc, libz.
  fs::path base(bool with_libz = true) {
    fs::path d = t / "base";
    std::string ld = fs::path(interp).filename();
    symlink("usr/lib", d / "lib");
    symlink("/lib/" + multiarch + "/" + ld, d / "lib64" / ld);
    fs::path libdir = d / "usr/lib" / multiarch;
    write_file(libdir / ld, host_lib());
    write_file(libdir / "libc.so.6", host_lib());
    if (with_libz) {
      write_file(libdir / "libz.so.1.3", host_lib());
      symlink("libz.so.1.3", libdir / "libz.so.1");
    }
    return d;
  }

  // A toolchain tree with /usr/bin/tool (needs libz), built with the host compiler.
  fs::path toolchain() {
    fs::path d = t / "tc";
    compile(kZlibMain, {"-lz"}, d / "usr/bin/tool");
    interp = *layers::read_elf(read_file(d / "usr/bin/tool"), "tool").interp;
    return d;
  }
};

}  // namespace

TEST_CASE("closure: a program finds libz, libc and its interpreter through symlinked lib dirs") {
  Fixture f;
  fs::path tc = f.toolchain();
  auto report = layers::check_closure({layer_blob(f.layout, f.base())}, layer_blob(f.layout, tc));
  CHECK(report.ok());
  CHECK(report.binaries == 1);
  CHECK(report.libraries == 3);  // interpreter, libz, libc
  CHECK_NOTHROW(layers::require_closure(report));
}

TEST_CASE("closure: a missing library fails, naming the library and every binary that needs it") {
  Fixture f;
  fs::path tc = f.toolchain();
  for (int i = 0; i < 6; ++i) fs::copy_file(tc / "usr/bin/tool", tc / ("usr/bin/tool" + std::to_string(i)));
  auto report = layers::check_closure({layer_blob(f.layout, f.base(false))}, layer_blob(f.layout, tc));
  REQUIRE(report.missing.size() == 1);
  CHECK(report.missing[0].library == "libz.so.1");
  CHECK(report.missing[0].needed_by.size() == 7);
  CHECK(report.missing[0].needed_by[0] == "/usr/bin/tool");
  CHECK(report.binaries == 7);
  CHECK_THROWS_WITH_AS(
      layers::require_closure(report),
      doctest::Contains("libz.so.1 (needed by /usr/bin/tool, /usr/bin/tool0, /usr/bin/tool1, "
                        "/usr/bin/tool2, /usr/bin/tool3 and 2 more)"),
      RuntimeError);
}

TEST_CASE("closure: RUNPATH with $ORIGIN finds libraries of the toolchain itself") {
  Fixture f;
  fs::path tc = f.toolchain();
  compile("int helper(void) { return 4; }\n", {"-shared", "-fPIC", "-Wl,-soname,libhelper.so.2"},
          f.t / "build/libhelper.so.2");
  compile("int helper(void);\nint main(void) { return helper(); }\n",
          {(f.t / "build/libhelper.so.2").string(), "-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/../lib"},
          tc / "opt/tc/bin/cc1");
  auto base = layer_blob(f.layout, f.base());
  auto without = layers::check_closure({base}, layer_blob(f.layout, tc));
  REQUIRE(without.missing.size() == 1);
  CHECK(without.missing[0].library == "libhelper.so.2");
  CHECK(without.missing[0].needed_by == std::vector<std::string>{"/opt/tc/bin/cc1"});
  fs::create_directories(tc / "opt/tc/lib");
  fs::copy_file(f.t / "build/libhelper.so.2", tc / "opt/tc/lib/libhelper.so.2.0.0");
  symlink("libhelper.so.2.0.0", tc / "opt/tc/lib/libhelper.so.2");
  auto with = layers::check_closure({base}, layer_blob(f.layout, tc));
  CHECK(with.ok());
  CHECK(with.binaries == 3);  // tool, cc1, and the library itself
}

TEST_CASE("closure: ld.so.conf.d directories and a library reached through a symlinked directory") {
  Fixture f;
  fs::path tc = f.toolchain();
  fs::path b = f.base(false);
  write_file(b / "etc/ld.so.conf", "# comment\ninclude /etc/ld.so.conf.d/*.conf\n");
  write_file(b / "etc/ld.so.conf.d/zlib.conf", "/opt/zlib/current\n");
  write_file(b / "opt/zlib/1.3/libz.so.1", host_lib());
  symlink("1.3", b / "opt/zlib/current");
  CHECK(layers::check_closure({layer_blob(f.layout, b)}, layer_blob(f.layout, tc)).ok());
  fs::remove(b / "etc/ld.so.conf.d/zlib.conf");
  auto report = layers::check_closure({layer_blob(f.layout, b)}, layer_blob(f.layout, tc));
  REQUIRE(report.missing.size() == 1);
  CHECK(report.missing[0].library == "libz.so.1");
}

TEST_CASE("closure: whiteouts in a middle layer remove a library and a directory") {
  Fixture f;
  fs::path tc = f.toolchain();
  auto base = layer_blob(f.layout, f.base());
  auto top = layer_blob(f.layout, tc);
  std::string libdir = "usr/lib/" + f.multiarch;
  auto wh = layer_blob(f.layout, f.t / "none", {libdir + "/libz.so.1"});
  auto r1 = layers::check_closure({base, wh}, top);
  REQUIRE(r1.missing.size() == 1);
  CHECK(r1.missing[0].library == "libz.so.1");
  auto opq = layer_blob(f.layout, f.t / "none", {}, {libdir});
  auto r2 = layers::check_closure({base, opq}, top);
  CHECK(r2.missing.size() == 3);  // interpreter, libz, libc
  // A layer above the whiteout that brings the library back.
  write_file(f.t / "again" / libdir / "libz.so.1", host_lib());
  CHECK(layers::check_closure({base, wh, layer_blob(f.layout, f.t / "again")}, top).ok());
}

TEST_CASE("closure: target-arch files and target roots are not checked") {
  Fixture f;
  fs::path tc = f.toolchain();
  write_file(tc / "usr/mipsel-linux-gnu/lib/libc.so.6", fake_elf(EM_MIPS, ELFCLASS32, false));
  compile("int main(void) { return 0; }\n", {"-lz"}, tc / "opt/tc/sysroot/usr/bin/target-tool");
  auto base = layer_blob(f.layout, f.base(false));
  auto blob = layer_blob(f.layout, tc);
  layers::ClosureOptions opts;
  opts.target_roots = {"/opt/tc/sysroot"};
  auto report = layers::check_closure({base}, blob, opts);
  CHECK(report.binaries == 1);  // only /usr/bin/tool
  REQUIRE(report.missing.size() == 1);
  CHECK(report.missing[0].needed_by == std::vector<std::string>{"/usr/bin/tool"});
}

TEST_CASE("closure: merged tree resolves relative, absolute and looping symlinks") {
  Fixture f;
  fs::path d = f.t / "tree";
  write_file(d / "usr/lib/a/real", "x");
  symlink("usr/lib", d / "lib");
  symlink("/lib/a", d / "opt/abs");
  symlink("../usr/lib/a/real", d / "etc/rel");
  symlink("loop2", d / "opt/loop1");
  symlink("loop1", d / "opt/loop2");
  layers::MergedTree tree;
  tree.apply_layer(layer_blob(f.layout, d));
  CHECK(tree.resolve("/lib/a/real") == "usr/lib/a/real");
  CHECK(tree.resolve("opt/abs/real") == "usr/lib/a/real");
  CHECK(tree.resolve("/etc/rel") == "usr/lib/a/real");
  // ".." after a symlink is the target's parent, as in the kernel: /lib/.. is /usr here.
  CHECK(tree.resolve("/lib/../lib/a/real") == "usr/lib/a/real");
  CHECK_FALSE(tree.resolve("/lib/../usr/lib/a/real").has_value());
  CHECK_FALSE(tree.resolve("/opt/loop1").has_value());
  CHECK_FALSE(tree.resolve("/usr/lib/a/real/x").has_value());
  CHECK_FALSE(tree.resolve("/nope").has_value());
  REQUIRE(tree.find("/usr/lib/a") != nullptr);
  CHECK(tree.find("usr/lib/a")->type == 'd');
}
