// Descriptors, platforms, canonical JSON and timestamps (see descriptor.hpp). Field names follow
// OCI image-spec descriptor.md and image-index.md ("platform"); architecture names follow
// config.md, which defers to Go's GOARCH values.
#include "oci/descriptor.hpp"

#include <ctime>
#include <vector>

#include "util/error.hpp"

namespace ksimg::oci {

Platform Platform::host() {
  Platform p;
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
#if defined(__ARM_ARCH) && __ARM_ARCH >= 7
  p.variant = "v7";
#elif defined(__ARM_ARCH) && __ARM_ARCH == 6
  p.variant = "v6";
#else
  p.variant = "v5";
#endif
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  p.architecture = "ppc64le";
#elif defined(__powerpc64__)
  p.architecture = "ppc64";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#elif defined(__mips64) && defined(__MIPSEL__)
  p.architecture = "mips64le";
#elif defined(__mips64)
  p.architecture = "mips64";
#elif defined(__mips__) && defined(__MIPSEL__)
  p.architecture = "mipsle";
#elif defined(__mips__)
  p.architecture = "mips";
#elif defined(__loongarch64)
  p.architecture = "loong64";
#else
#error "unknown host architecture: add its GOARCH name to Platform::host()"
#endif
  return p;
}

static bool valid_platform_word(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  return true;
}

Platform Platform::parse(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool ok = parts.size() == 2 || parts.size() == 3;
  for (const auto& w : parts) ok = ok && valid_platform_word(w);
  if (!ok)
    throw UsageError("invalid platform '" + std::string(text) +
                     "': expected OS/ARCH[/VARIANT] in lowercase, e.g. linux/amd64 or linux/arm/v7");
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string Platform::str() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

nlohmann::json platform_json(const Platform& p) {
  nlohmann::json j = {{"os", p.os}, {"architecture", p.architecture}};
  if (!p.variant.empty()) j["variant"] = p.variant;
  return j;
}

nlohmann::json Descriptor::to_json() const {
  nlohmann::json j = {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
  if (!annotations.empty()) j["annotations"] = annotations;
  if (platform) j["platform"] = platform_json(*platform);
  return j;
}

static std::string string_field(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string())
    throw IntegrityError(std::string("descriptor has no string field '") + key +
                         "': " + j.dump().substr(0, 200));
  return j[key].get<std::string>();
}

Descriptor Descriptor::from_json(const nlohmann::json& j) {
  if (!j.is_object()) throw IntegrityError("descriptor is not a JSON object: " + j.dump().substr(0, 200));
  Descriptor d;
  d.media_type = string_field(j, "mediaType");
  d.digest = Digest::parse(string_field(j, "digest"));
  if (!j.contains("size") || !j["size"].is_number_integer() || j["size"].get<int64_t>() < 0)
    throw IntegrityError("descriptor " + d.digest.str() + " has no valid 'size'");
  d.size = j["size"].get<int64_t>();
  if (j.contains("annotations") && j["annotations"].is_object())
    for (const auto& [k, v] : j["annotations"].items())
      if (v.is_string()) d.annotations[k] = v.get<std::string>();
  if (j.contains("platform") && j["platform"].is_object()) {
    const auto& p = j["platform"];
    Platform pl;
    pl.os = p.value("os", "");
    pl.architecture = p.value("architecture", "");
    pl.variant = p.value("variant", "");
    d.platform = pl;
  }
  return d;
}

std::string canonical_json(const nlohmann::json& j) {
  try {
    return j.dump(-1, ' ', false);
  } catch (const nlohmann::json::type_error& e) {
    throw UsageError(std::string("cannot serialise image metadata: ") + e.what() +
                     "; labels, annotations, env and cmd must be valid UTF-8");
  }
}

std::string rfc3339(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) throw UsageError("timestamp " + std::to_string(epoch_seconds) + " is out of range");
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ksimg::oci
