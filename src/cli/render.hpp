// Shared renderers for matrix results: JSON objects and aligned text tables.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "matrix/resolver.hpp"

namespace ksimg::cli {

nlohmann::ordered_json to_json(const matrix::Recipe& r);
nlohmann::ordered_json to_json(const matrix::Resolution& r);

// "bootlin gcc 6.4.0, binutils (not recorded), musl"
std::string toolchain_summary(const matrix::Recipe& r);
// A recipe's libc for a table column: "glibc 2.31", "musl 1.2.4", "none" (the text before " (").
std::string libc_short(const std::string& libc);

// Prints rows as columns separated by two spaces; the first row is the header.
std::string table(const std::vector<std::vector<std::string>>& rows);

// The image repository name: "kernelsmith".
inline const char* image_repo() {
  return "kernelsmith";
}

}  // namespace ksimg::cli
