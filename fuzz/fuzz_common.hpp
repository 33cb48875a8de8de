// Shared helpers for the libFuzzer targets: the input as a string, an abort that names the
// broken invariant, and a catch for the product's documented error types.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace fuzz {

inline std::string_view input(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// An invariant the parser promises does not hold: crash so libFuzzer saves the input.
[[noreturn]] inline void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "invariant broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

inline void check(bool ok, const char* what, const std::string& detail = {}) {
  if (!ok) broken(what, detail);
}

}  // namespace fuzz
