// Base64 (RFC 4648 §4, with padding) for Basic credentials (RFC 7617) and the "auth" field
// of docker config.json / containers auth.json.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ksimg::registry {

std::string base64_encode(std::string_view in);
// nullopt when `in` is not padded base64 (whitespace is not skipped).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace ksimg::registry
