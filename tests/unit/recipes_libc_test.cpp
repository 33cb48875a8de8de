// Every Debian recipe names its C library as "glibc X.Y (PACKAGE VERSION ...)", and that
// package at that version is what the committed ksimg.lock.json pins for the recipe (or, for a
// native compiler, for the base layer). So `kbuild info`, `ksimg resolve` and `ksimg matrix`
// report the libc the image really carries, and a re-pin that moves it fails here. The same
// holds for `hosts.arm64.libc`, the linux/arm64 image's C library where it differs, against the
// arm64 pins.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "matrix/data.hpp"

using namespace ksimg;

namespace {

nlohmann::json committed_lock() {
  std::ifstream in(std::string(KSIMG_SRC_DIR) + "/ksimg.lock.json");
  return nlohmann::json::parse(in);
}

std::string pinned(const nlohmann::json& lock, const std::string& recipe, const std::string& pkg,
                   bool arm64 = false) {
  const auto& r = lock.at("recipes").at(recipe);
  for (const auto& p : arm64 ? r.at("hosts").at("arm64").at("packages") : r.at("packages"))
    if (p.at("name") == pkg) return p.at("version").get<std::string>();
  return "";
}

// Checks "glibc X.Y (PACKAGE VERSION ...)" against the pins of the recipe (a cross libc) or of
// the base layer (a native compiler's libc6-dev).
void check_libc(const nlohmann::json& lock, const std::string& recipe, const std::string& libc, bool arm64) {
  const std::regex form(R"(glibc (\d+\.\d+) \(([a-z0-9][a-z0-9+.-]+) (\S+)( .*)?\))");
  CAPTURE(libc);
  CAPTURE(arm64);
  std::smatch m;
  REQUIRE(std::regex_match(libc, m, form));
  std::string pkg = m[2], ver = m[3];
  CHECK(ver.starts_with(m[1].str() + "-"));
  bool cross = pkg.ends_with("-cross");
  if (cross) CHECK(pkg.starts_with("libc6-dev-"));
  CHECK(pinned(lock, cross ? recipe : "base", pkg, arm64) == ver);
}

}  // namespace

TEST_CASE("every Debian recipe reports the glibc the lock pins for it") {
  auto lock = committed_lock();
  int n = 0, arm64 = 0;
  for (const auto& [name, r] : matrix::get(KSIMG_SRC_DIR).recipes) {
    if (r.kind != "debian") continue;
    CAPTURE(r.name);
    check_libc(lock, r.name, r.libc, false);
    if (r.libc_arm64) {
      check_libc(lock, r.name, *r.libc_arm64, true);
      ++arm64;
    }
    ++n;
  }
  CHECK(n == 24);
  CHECK(arm64 == 4);  // the x86_64 and arm64 recipes swap native and cross on an arm64 host
}
