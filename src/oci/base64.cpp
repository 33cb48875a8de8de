// Base64 via OpenSSL (see base64.hpp). EVP_DecodeBlock accepts surrounding whitespace and
// counts padding as zero bytes, so the strict form is checked here and the padding trimmed.
#include "oci/base64.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace ksimg::oci {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  size_t pad = in.size() - std::min(in.size(), in.find_last_not_of('=') + 1);
  if (pad > 2 || in.substr(0, in.size() - pad).find('=') != std::string_view::npos) return std::nullopt;
  bool clean = std::all_of(in.begin(), in.end() - static_cast<long>(pad), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
  });
  if (!clean) return std::nullopt;
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace ksimg::oci
