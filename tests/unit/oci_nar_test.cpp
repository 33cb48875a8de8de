// Unit tests for oci/nar (NAR hashes of trees, recipes/README.md "nar_sha256"): a fixed tree
// against the value nix-hash printed for it, then trees with executables, symlinks (dangling,
// absolute, to directories), empty directories and odd names (spaces, unicode, leading dashes,
// names whose bytewise order differs from a locale's) against the real `nix-hash --type
// sha256` (Debian nix-bin) when it is installed; SRI conversion both ways.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "oci/nar.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& data, bool exec = false) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
  ::chmod(p.c_str(), exec ? 0755 : 0644);
}

// The tree nix-hash 2.8.0 hashed to 900cb9cc...: f ("hi\n", executable), l -> f, b/ (empty).
void small_tree(const fs::path& d) {
  put(d / "f", "hi\n", true);
  fs::create_symlink("f", d / "l");
  fs::create_directories(d / "b");
}

void odd_tree(const fs::path& d) {
  small_tree(d);
  put(d / "with space", "x");
  put(d / "-leading-dash", "");
  put(d / "\xc3\xa9t\xc3\xa9 unicode", std::string(8, 'p'));  // "été unicode"; length a multiple of 8
  put(d / "B", "upper before lower bytewise");
  put(d / "a", std::string(7, '\0'));
  put(d / "_under", "1234567890123456789");  // '_' sorts after 'B' bytewise, before in en_US
  put(d / "deep/er/still/run.sh", "#!/bin/sh\necho\n", true);
  put(d / "deep/er/.hidden", "h");
  fs::create_directories(d / "empty/nested-empty");
  fs::create_symlink("/nonexistent/abs", d / "dangling");
  fs::create_symlink("deep/er", d / "dirlink");
  put(d / "mode-0600", "private");
  ::chmod((d / "mode-0600").c_str(), 0600);  // not executable: same as 0644 in a NAR
  put(d / "user-exec-only", "x");
  ::chmod((d / "user-exec-only").c_str(), 0744);
}

std::string nix_hash(const fs::path& p) {
  auto r = subprocess::run({"nix-hash", "--type", "sha256", p.string()});
  REQUIRE_MESSAGE(r.ok(), r.err);
  return r.out.substr(0, r.out.find('\n'));
}

bool have_nix_hash() {
  try {
    return subprocess::run({"nix-hash", "--version"}).ok();
  } catch (...) {
    return false;
  }
}

}  // namespace

TEST_CASE("nar: a small tree hashes to the value nix-hash gives") {
  TempDir t("nar");
  small_tree(t.path());
  CHECK(oci::nar_sha256(t.path()).hex() ==
        "900cb9ccec2cec03a1568fb6cf00e22d9fabad93c350300565de110bfafc5d88");
  fs::permissions(t / "f", fs::perms::owner_exec, fs::perm_options::remove);
  CHECK(oci::nar_sha256(t.path()).hex() !=
        "900cb9ccec2cec03a1568fb6cf00e22d9fabad93c350300565de110bfafc5d88");
}

TEST_CASE("nar: agrees with nix-hash on trees with odd names, links, modes and empty dirs") {
  if (!have_nix_hash()) {
    MESSAGE("skipped: nix-hash is not installed (Debian nix-bin, scripts/install-deps)");
    return;
  }
  TempDir t("nar");
  fs::path d = t / "tree";
  odd_tree(d);
  CHECK(oci::nar_sha256(d).hex() == nix_hash(d));
  CHECK(oci::nar_sha256(d / "deep/er/still/run.sh").hex() == nix_hash(d / "deep/er/still/run.sh"));  // a file
  CHECK(oci::nar_sha256(d / "empty").hex() == nix_hash(d / "empty"));
  put(d / "deep/er/still/run.sh", "#!/bin/sh\necho changed\n", true);
  CHECK(oci::nar_sha256(d).hex() == nix_hash(d));
  put(t / "big/blob", std::string((1 << 17) + 3, 'z'));  // more than one read buffer, odd padding
  CHECK(oci::nar_sha256(t / "big").hex() == nix_hash(t / "big"));
}

TEST_CASE("nar: SRI form both ways, canonical only") {
  auto d = oci::Digest::from_hex("64690bbe4ade77fb036b6330dbfd4df8d87c6ef532ba3c7138b4d90df776a8de");
  CHECK(oci::to_sri(d) == "sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=");
  CHECK(oci::from_sri("sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4=") == d);
  CHECK_FALSE(oci::from_sri("sha512-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4="));
  CHECK_FALSE(oci::from_sri("sha256-ZGkLvkred/sDa2Mw2/1N+Nh8bvUyujxxOLTZDfd2qN4"));
  CHECK_FALSE(oci::from_sri("sha256-ZGkL"));
  CHECK_FALSE(oci::from_sri("64690bbe4ade77fb036b6330dbfd4df8d87c6ef532ba3c7138b4d90df776a8de"));
}
