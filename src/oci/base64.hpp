// Base64 (RFC 4648 §4, standard alphabet, '=' padding) over OpenSSL's EVP_EncodeBlock /
// EVP_DecodeBlock, exported here because OpenSSL is confined to this module. Used for Basic
// credentials (RFC 7617) and the "auth" field of docker config.json / containers auth.json.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace ksimg::oci {

std::string base64_encode(std::string_view in);
// nullopt when `in` is not padded base64 (no whitespace, length a multiple of 4, '=' only
// at the end).
std::optional<std::string> base64_decode(std::string_view in);

}  // namespace ksimg::oci
