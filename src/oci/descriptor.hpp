// OCI descriptors, platforms and media types (image-spec descriptor.md, image-index.md,
// media-types.md), with their canonical JSON form.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.hpp"

namespace ksimg::oci {

namespace media {
inline constexpr std::string_view index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view layer_tar = "application/vnd.oci.image.layer.v1.tar";
}  // namespace media

namespace annotation {
inline constexpr std::string_view ref_name = "org.opencontainers.image.ref.name";
inline constexpr std::string_view created = "org.opencontainers.image.created";
inline constexpr std::string_view source = "org.opencontainers.image.source";
inline constexpr std::string_view revision = "org.opencontainers.image.revision";
inline constexpr std::string_view version = "org.opencontainers.image.version";
}  // namespace annotation

// os/architecture[/variant] in OCI (Go GOOS/GOARCH) spelling.
struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;

  // The platform this ksimg binary was compiled for (amd64, arm64, arm/v7, ppc64le, ...).
  static Platform host();
  // "linux/amd64", "linux/arm/v7"; throws UsageError naming the expected form.
  static Platform parse(std::string_view text);
  std::string str() const;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;

  nlohmann::json to_json() const;
  // Throws IntegrityError when required fields are missing or malformed.
  static Descriptor from_json(const nlohmann::json& j);
};

nlohmann::json platform_json(const Platform& p);

// The one serialisation used for every JSON blob ksimg writes: keys sorted (nlohmann's
// std::map order, bytewise), no whitespace, no trailing newline, UTF-8 as is.
std::string canonical_json(const nlohmann::json& j);

// RFC 3339 UTC timestamp with second precision ("1970-01-01T00:00:00Z").
std::string rfc3339(int64_t epoch_seconds);

}  // namespace ksimg::oci
