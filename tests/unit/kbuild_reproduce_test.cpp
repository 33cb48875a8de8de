// OUT/reproduce.sh (kbuild/reproduce.hpp): the image pinned by digest, the source by sha256,
// this output's .config given back, the targets; run here with a stand-in for ksimg that
// records its arguments, so the script's shell is checked, not just its text.
#include <doctest/doctest.h>

#include <cstdlib>

#include "kbuild/reproduce.hpp"
#include "oci/digest.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace ksimg::kbuild;

namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kSha = std::string(64, 'b');

ReproFacts facts() {
  return {"5.10.223",
          "mipsel",
          "127.0.0.1:5000/ns/kernelsmith:k4-mipsel",
          kDigest,
          "download",
          "http://127.0.0.1/v5.x/linux-5.10.223.tar.xz",
          kSha,
          {"vmlinux", "image"}};
}

// Writes the script and a fake ksimg into `d`, runs `sh reproduce.sh ARGS` with `env`; returns
// the exit status and leaves the fake's argv, one per line, in d/args.
int run_script(const std::filesystem::path& d, const ReproFacts& f, const std::string& args,
               const std::string& env = "") {
  std::filesystem::create_directories(d / "out");
  files::write_atomic(d / "out/reproduce.sh", reproduce_script(f), 0755);
  files::write_atomic(d / "out/.config", "CONFIG_MIPS=y\n");
  files::write_atomic(d / "fake-ksimg", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\n", 0755);
  std::string cmd = "cd " + d.string() + " && ARGS_FILE=" + (d / "args").string() +
                    " KSIMG=" + (d / "fake-ksimg").string() + " " + env + " sh out/reproduce.sh " + args +
                    " 2>" + (d / "err").string();
  int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

}  // namespace

TEST_CASE("reproduce.sh: the image by digest") {
  CHECK(pinned_image("127.0.0.1:5000/ns/kernelsmith:k4-mipsel", kDigest) ==
        "127.0.0.1:5000/ns/kernelsmith@" + kDigest);
  CHECK(pinned_image("kernelsmith:k4-mipsel", kDigest) == "kernelsmith@" + kDigest);
  CHECK(pinned_image("127.0.0.1:5000/kernelsmith", kDigest) == "127.0.0.1:5000/kernelsmith@" + kDigest);
  CHECK(pinned_image("r/kernelsmith:k4-mipsel@" + kDigest, kDigest) == "r/kernelsmith:k4-mipsel@" + kDigest);
  CHECK(pinned_image("kernelsmith:k4-mipsel", "") == "kernelsmith:k4-mipsel");
  CHECK(reproduce_script(facts()).find("by digest") != std::string::npos);
}

TEST_CASE("reproduce.sh: runs ksimg kbuild with the pinned inputs") {
  TempDir t("repro");
  REQUIRE(run_script(t.path(), facts(), "re --ccache-dir /cc") == 0);
  std::string want = "kbuild\n5.10.223\n--arch\nmipsel\n--sha256\n" + kSha +
                     "\n--image\n127.0.0.1:5000/ns/kernelsmith@" + kDigest + "\n--config\n" +
                     (t.path() / "re/reproduce.config").string() + "\n--targets\nvmlinux,image\n-o\n" +
                     (t.path() / "re").string() + "\n--ccache-dir\n/cc\n";
  CHECK(files::read(t.path() / "args") == want);
  CHECK(files::read(t.path() / "re/reproduce.config") == "CONFIG_MIPS=y\n");
}

TEST_CASE("reproduce.sh: a local tarball is checked against the sha256, and the output dir must differ") {
  TempDir t("repro");
  files::write_atomic(t.path() / "linux.tar.xz", "not the kernel");
  CHECK(run_script(t.path(), facts(), "re", "KSIMG_SOURCE=" + (t.path() / "linux.tar.xz").string()) == 3);
  CHECK(files::read(t.path() / "err").find("is not the source of this build") != std::string::npos);
  auto f = facts();
  f.source_sha256 = oci::sha256("not the kernel").hex();  // now it is the source: used, not downloaded
  CHECK(run_script(t.path(), f, "re", "KSIMG_SOURCE=" + (t.path() / "linux.tar.xz").string()) == 0);
  CHECK(files::read(t.path() / "args")
            .find("--source\n" + (t.path() / "linux.tar.xz").string() + "\n--image") != std::string::npos);
  CHECK(files::read(t.path() / "args").find("--sha256") == std::string::npos);
  f.source_sha256 = std::nullopt;  // a tree: must be given again
  CHECK(run_script(t.path(), f, "re") == 2);
  CHECK(files::read(t.path() / "err").find("set KSIMG_SOURCE") != std::string::npos);
  CHECK(run_script(t.path(), facts(), "out") == 2);
  CHECK(files::read(t.path() / "err").find("give another output dir") != std::string::npos);
}
