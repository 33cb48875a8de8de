// libFuzzer target: the Debian archive index parsers (src/recipes/deb_release.hpp Release,
// deb_packages.hpp Packages and relation fields, deb_version.hpp). The first byte picks the parser.
// Invariants: digests read from an index are 64 lowercase hex characters.
#include "fuzz_common.hpp"
#include "recipes/deb_packages.hpp"
#include "recipes/deb_release.hpp"

namespace {
bool hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void release(std::string_view text) {
  auto r = ksimg::recipes::parse_release(text, "fuzz Release");
  for (const auto& [path, e] : r.sha256) fuzz::check(hex64(e.sha256), "Release SHA256 is hex", path);
}

void packages(std::string_view text) {
  auto ps = ksimg::recipes::parse_packages(text, "fuzz Packages");
  for (const auto& [name, p] : ps) {
    fuzz::check(hex64(p.sha256), "Packages SHA256 is hex", name);
    (void)ksimg::recipes::parse_relations(p.depends);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  auto text = fuzz::input(data + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
        release(text);
        break;
      case 1:
        packages(text);
        break;
      case 2:
        (void)ksimg::recipes::parse_release_date(text);
        break;
      default: {
        auto rel = ksimg::recipes::parse_relations(text);
        for (const auto& alt : rel) (void)ksimg::recipes::to_text(alt);
      }
    }
  } catch (const ksimg::Error&) {
  }
  return 0;
}
