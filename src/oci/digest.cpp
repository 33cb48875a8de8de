// Digests and SHA-256 (see digest.hpp). Follows OCI image-spec descriptor.md "Digests":
// algorithm "sha256", encoded part /[a-f0-9]{64}/. OpenSSL's EVP interface does the hashing.
#include "oci/digest.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "util/error.hpp"

namespace ksimg::oci {

namespace {

bool is_lower_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string to_hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

}  // namespace

std::optional<Digest> Digest::try_parse(std::string_view text) {
  constexpr std::string_view prefix = "sha256:";
  if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto hex = text.substr(prefix.size());
  if (!is_lower_hex64(hex)) return std::nullopt;
  Digest d;
  d.hex_ = std::string(hex);
  return d;
}

Digest Digest::parse(std::string_view text) {
  auto d = try_parse(text);
  if (!d)
    throw IntegrityError("invalid digest '" + std::string(text.substr(0, 100)) +
                         "': expected sha256:<64 lowercase hex digits>");
  return *d;
}

Digest Digest::from_hex(std::string_view hex) {
  return parse("sha256:" + std::string(hex));
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw RuntimeError("OpenSSL: cannot initialise SHA-256");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(ctx_);
}

void Sha256::update(const void* data, size_t n) {
  if (n > 0 && EVP_DigestUpdate(ctx_, data, n) != 1) throw RuntimeError("OpenSSL: SHA-256 update failed");
}

Digest Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, md, &len) != 1) throw RuntimeError("OpenSSL: SHA-256 final failed");
  return Digest::from_hex(to_hex(md, len));
}

Digest sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

Digest sha256_file(const std::filesystem::path& file, uint64_t* size_out) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError(errno_text("cannot open", file.string()));
  Sha256 h;
  std::vector<char> buf(1 << 20);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      std::string msg = errno_text("cannot read", file.string());
      ::close(fd);
      throw RuntimeError(msg);
    }
    if (n == 0) break;
    h.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (size_out) *size_out = total;
  return h.finish();
}

}  // namespace ksimg::oci
