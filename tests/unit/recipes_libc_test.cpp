// Every Debian recipe names its C library as "glibc X.Y (PACKAGE VERSION ...)", and that
// package at that version is what the committed ksimg.lock.json pins for the recipe (or, for a
// native compiler, for the base layer). So `kbuild info`, `ksimg resolve` and `ksimg matrix`
// report the libc the image really carries, and a re-pin that moves it fails here.
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

std::string pinned(const nlohmann::json& lock, const std::string& recipe, const std::string& pkg) {
  for (const auto& p : lock.at("recipes").at(recipe).at("packages"))
    if (p.at("name") == pkg) return p.at("version").get<std::string>();
  return "";
}

}  // namespace

TEST_CASE("every Debian recipe reports the glibc the lock pins for it") {
  auto lock = committed_lock();
  const std::regex form(R"(glibc (\d+\.\d+) \(([a-z0-9][a-z0-9+.-]+) (\S+)( .*)?\))");
  int n = 0;
  for (const auto& [name, r] : matrix::get(KSIMG_SRC_DIR).recipes) {
    if (r.kind != "debian") continue;
    CAPTURE(r.name);
    CAPTURE(r.libc);
    std::smatch m;
    REQUIRE(std::regex_match(r.libc, m, form));
    std::string pkg = m[2], ver = m[3];
    CHECK(ver.starts_with(m[1].str() + "-"));
    bool cross = pkg.ends_with("-cross");
    if (cross) CHECK(pkg.starts_with("libc6-dev-"));
    CHECK(pinned(lock, cross ? r.name : "base", pkg) == ver);
    ++n;
  }
  CHECK(n == 24);
}
