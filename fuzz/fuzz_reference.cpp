// libFuzzer target: image references and push destinations (src/registry/reference.hpp).
// Invariant: a parsed reference prints back to text that parses to the same parts.
#include "fuzz_common.hpp"
#include "registry/reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ksimg::registry;
  auto text = fuzz::input(data, size);
  try {
    Reference r = parse_reference(text);
    std::string s = r.str();
    Reference q = parse_reference(s);
    fuzz::check(q.registry == r.registry && q.repository == r.repository && q.tag == r.tag &&
                    q.digest.has_value() == r.digest.has_value(),
                "reference round trip", std::string(text) + " -> " + s);
    (void)r.manifest_ref();
    (void)is_loopback(r.registry);
  } catch (const ksimg::Error&) {
  }
  try {
    Destination d = parse_destination(text);
    (void)d.repository();
  } catch (const ksimg::Error&) {
  }
  return 0;
}
