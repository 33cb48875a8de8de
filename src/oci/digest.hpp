// Content digests (OCI image-spec "descriptor.md", Digests): "sha256:<64 lowercase hex>",
// a streaming SHA-256 hasher and helpers for bytes and files. OpenSSL stays in digest.cpp.
#pragma once
#include <compare>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept opaque here

namespace ksimg::oci {

// A validated sha256 digest. Only sha256 is produced or accepted (the registry and
// layout code never needs another algorithm).
class Digest {
 public:
  Digest() = default;
  // Parses "sha256:<64 lowercase hex>"; throws IntegrityError naming the bad value.
  static Digest parse(std::string_view text);
  static std::optional<Digest> try_parse(std::string_view text);
  // From 64 lowercase hex characters (throws IntegrityError otherwise).
  static Digest from_hex(std::string_view hex);

  const std::string& hex() const { return hex_; }
  std::string str() const { return hex_.empty() ? std::string() : "sha256:" + hex_; }
  bool empty() const { return hex_.empty(); }
  auto operator<=>(const Digest&) const = default;

 private:
  std::string hex_;
};

// Incremental SHA-256 (OpenSSL EVP). Not copyable; finish() may be called once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  Digest finish();

 private:
  evp_md_ctx_st* ctx_ = nullptr;
};

Digest sha256(std::string_view data);
// Hashes a file's bytes; throws RuntimeError naming the file on I/O failure.
// `size_out`, when given, receives the number of bytes hashed.
Digest sha256_file(const std::filesystem::path& file, uint64_t* size_out = nullptr);

}  // namespace ksimg::oci
