// The SBOM of a cell image (CycloneDX 1.5 JSON): every component with the layer that holds it.
// Debian packages of the base and of a debian toolchain, with purls naming the suite each really
// came from (`distro=debian-11` for bullseye, not the base's os-release), tarball and script
// toolchains with their pinned inputs, and the launcher. Everything comes from the lock, the
// same inputs the image is built from, so the SBOM is as reproducible as the image (its serial
// number is derived from its content, its timestamp is SOURCE_DATE_EPOCH).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "matrix/data.hpp"
#include "recipes/lock.hpp"

namespace ksimg::layers {

inline constexpr const char* kCycloneDxMediaType = "application/vnd.cyclonedx+json";

struct SbomInput {
  const matrix::Cell* cell = nullptr;
  const matrix::Recipe* recipe = nullptr;
  std::string tag;                      // "k4-mipsel"
  const recipes::Lock* lock = nullptr;  // must pin the base and the recipe
  std::string image_digest;             // the manifest's, when known ("" otherwise)
  std::string launcher_diff_id;         // when known
  std::string tool_version;             // ksimg's
  std::string host_arch = "amd64";      // the image's platform: linux/<host_arch> (its package sets)
};

// "debian-11" for bullseye (Debian's release numbers by codename); "" for an unknown codename.
std::string debian_distro(const std::string& codename);

// pkg:deb/debian/NAME@VERSION?arch=ARCH&distro=DISTRO (purl-spec, percent-encoding ':' and '+').
std::string deb_purl(const recipes::LockedPackage& p, const std::string& distro);

// The CycloneDX 1.5 document of the linux/<in.host_arch> image. UsageError when the lock does not
// pin the base or the recipe for that host, or the toolchain has no build for it.
nlohmann::ordered_json cyclonedx_sbom(const SbomInput& in);

}  // namespace ksimg::layers
