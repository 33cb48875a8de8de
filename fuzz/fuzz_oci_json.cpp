// libFuzzer target: the OCI manifest/index JSON readers (src/oci/descriptor.hpp) -- what
// Layout::manifests() and pull do with index.json and manifests. Invariant: a descriptor that
// was accepted serialises (canonical JSON) to one that reads back identically.
#include <nlohmann/json.hpp>

#include "fuzz_common.hpp"
#include "oci/descriptor.hpp"

namespace {
void one(const nlohmann::json& j) {
  using ksimg::oci::Descriptor;
  try {
    Descriptor d = Descriptor::from_json(j);
    std::string c = ksimg::oci::canonical_json(d.to_json());
    Descriptor e = Descriptor::from_json(nlohmann::json::parse(c));
    fuzz::check(ksimg::oci::canonical_json(e.to_json()) == c, "descriptor round trip", c);
  } catch (const ksimg::Error&) {
  }
}

void list(const nlohmann::json& doc, const char* key) {
  if (!doc.is_object() || !doc.contains(key)) return;
  const auto& a = doc[key];
  if (a.is_array()) {
    for (const auto& e : a) one(e);
  } else {
    one(a);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(fuzz::input(data, size), nullptr, false);
  if (j.is_discarded()) return 0;
  list(j, "manifests");
  list(j, "layers");
  list(j, "config");
  one(j);
  try {
    (void)ksimg::oci::canonical_json(j);
  } catch (const nlohmann::json::exception&) {  // invalid UTF-8 in strings: dump() refuses it
  }
  return 0;
}
