// Multi-platform images: an OCI image index (image-spec image-index.md) with one manifest per
// host platform, stored in a layout and tagged like a single manifest. ksimg builds images for
// linux/amd64 and linux/arm64 hosts; a host picks its own entry (uname -m), `--platform`
// overrides.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/layout.hpp"

namespace ksimg::oci {

// The host platforms ksimg images are built for, in index order.
const std::vector<Platform>& supported_platforms();

// Parses "linux/amd64" or "linux/arm64" (also "linux/arm64/v8", stored as linux/arm64).
// UsageError (exit 2) for malformed text or any other platform, naming the supported ones.
Platform parse_supported_platform(std::string_view text);

// "linux/amd64,linux/arm64": each one parsed, duplicates refused.
std::vector<Platform> parse_platform_list(std::string_view text);

// The platform of the machine running ksimg, from uname -m (x86_64 -> amd64, aarch64 ->
// arm64); UsageError naming --platform when the machine is neither.
Platform running_platform();

// True for an OCI image index or a Docker manifest list.
bool is_index_media_type(std::string_view media_type);

// Writes the index of `manifests` (each with its platform; sorted by platform, a platform
// twice is a UsageError) into the layout, with org.opencontainers.image.created = `created`.
Descriptor write_index(const Layout& layout, std::vector<Descriptor> manifests, int64_t created);

// The child descriptors of index `d` (read from the layout and verified).
std::vector<Descriptor> index_manifests(const Layout& layout, const Descriptor& d);

// The platform an image manifest's config declares (os, architecture, variant).
Platform manifest_platform(const Layout& layout, const Descriptor& manifest);

// `d` itself when it is a manifest; its `want` entry when it is an index. UsageError when the
// index has no such platform, naming the platforms it has and --platform. `what` names the
// image in messages (e.g. "tag k4-mipsel").
Descriptor select_platform(const Layout& layout, const Descriptor& d, const Platform& want,
                           const std::string& what);

// The platforms of an index's entries, "linux/amd64, linux/arm64".
std::string platform_names(const std::vector<Descriptor>& manifests);

}  // namespace ksimg::oci
