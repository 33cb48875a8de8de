// libFuzzer target: the kernel version parser (src/matrix/version.hpp). Invariants: a parsed
// version prints back to text that parses to the same version, and compares equal to itself.
#include "fuzz_common.hpp"
#include "matrix/version.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ksimg::matrix;
  auto text = fuzz::input(data, size);
  try {
    Version v = parse_version(text);
    std::string s = v.str();
    Version w = parse_version(s);
    fuzz::check(w.str() == s, "version str() round trip", s + " -> " + w.str());
    fuzz::check(v.band_compare(w) == 0, "version compares equal to its round trip", s);
  } catch (const ksimg::Error&) {
  }
  try {
    (void)parse_makefile_version(text, "fuzz");
  } catch (const ksimg::Error&) {
  }
  (void)compare_dotted(text, text);
  return 0;
}
