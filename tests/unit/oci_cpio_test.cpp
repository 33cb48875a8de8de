// inspect_cpio: what `ksimg boot-test --initramfs FILE` accepts (newc, plain or compressed,
// with or without /init) and refuses with one line (missing, a tar, garbage, a damaged cpio).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include "kbuild/initramfs.hpp"
#include "oci/cpio_check.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

std::string usage_error(const fs::path& f) {
  try {
    oci::inspect_cpio(f);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("initramfs check: newc with /init, plain and gzip-compressed, is accepted") {
  TempDir t("cpio");
  std::string newc = kbuild::newc_archive({{"init", S_IFREG | 0755,
                                            "\x7f"
                                            "ELF",
                                            0, 0},
                                           {"dev", S_IFDIR | 0755, "", 0, 0}},
                                          0);
  files::write_atomic(t.path() / "plain.cpio", newc);
  auto plain = oci::inspect_cpio(t.path() / "plain.cpio");
  CHECK(plain.entries == 2);
  CHECK(plain.has_init);
  CHECK(plain.compression == "none");
  files::write_atomic(t.path() / "z.cpio", newc);
  REQUIRE(subprocess::run({"gzip", "-n", (t.path() / "z.cpio").string()}).ok());
  auto gz = oci::inspect_cpio(t.path() / "z.cpio.gz");
  CHECK(gz.has_init);
  CHECK(gz.compression == "gzip");
  files::write_atomic(t.path() / "noinit.cpio",
                      kbuild::newc_archive({{"sbin", S_IFDIR | 0755, "", 0, 0}}, 0));
  CHECK_FALSE(oci::inspect_cpio(t.path() / "noinit.cpio").has_init);
}

TEST_CASE("initramfs check: a missing file, a tar, garbage and a cut cpio are refused with how to pack one") {
  TempDir t("cpio");
  CHECK(usage_error(t.path() / "absent.cpio").find("no such file") != std::string::npos);
  files::write_atomic(t.path() / "garbage", std::string(4096, 'x'));
  auto g = usage_error(t.path() / "garbage");
  CHECK(g.find("is not a cpio archive") != std::string::npos);
  CHECK(g.find("cpio -o -H newc") != std::string::npos);
  files::write_atomic(t.path() / "a", "a");
  REQUIRE(subprocess::run({"tar", "-C", t.path().string(), "-cf", (t.path() / "x.tar").string(), "a"}).ok());
  CHECK(usage_error(t.path() / "x.tar").find("is not a cpio archive") != std::string::npos);
  std::string newc = kbuild::newc_archive({{"init", S_IFREG | 0755, std::string(2000, 'i'), 0, 0}}, 0);
  files::write_atomic(t.path() / "cut.cpio", newc.substr(0, 600));
  CHECK(usage_error(t.path() / "cut.cpio").find("is not a cpio archive") != std::string::npos);
}
