// libFuzzer target: the WWW-Authenticate parser (src/registry/challenge.hpp, RFC 9110 11.6.1).
// Invariants: schemes and parameter names come back lower-cased, and never empty.
#include <cctype>

#include "fuzz_common.hpp"
#include "registry/challenge.hpp"

namespace {
bool lower(const std::string& s) {
  for (unsigned char c : s)
    if (std::isupper(c)) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ksimg::registry;
  try {
    auto cs = parse_challenges(fuzz::input(data, size));
    for (const auto& c : cs) {
      fuzz::check(lower(c.scheme), "scheme lower-cased", c.scheme);
      for (const auto& [k, v] : c.params) fuzz::check(lower(k), "param name lower-cased", k);
      (void)c.param("realm");
    }
    (void)find_challenge(cs, "bearer");
  } catch (const ksimg::Error&) {
  }
  return 0;
}
