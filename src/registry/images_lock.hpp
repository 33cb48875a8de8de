// images.lock.json: the pinned digest of every pushed cell image, keyed by image tag
// (schema in docs/registry.md). Every push merges its images in; `ksimg pull --locked` and
// `ksimg kbuild` read it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "oci/digest.hpp"

namespace ksimg::registry {

struct PlatformPin {
  oci::Digest digest;  // the platform's manifest
  int64_t size = 0;
};

struct Pin {
  std::string cell;       // "k4/mipsel" (may be empty for an image that is not a cell's)
  std::string reference;  // "127.0.0.1:5000/ns/kernelsmith:k4-mipsel@sha256:<hex>"
  oci::Digest digest;     // the manifest digest (also in `reference`)
  int64_t size = 0;       // the manifest's size in bytes
  // The compressor profiles of its layers (org.kernelsmith.compressor annotations, distinct,
  // sorted), e.g. "gzip libdeflate-1.14 level-6 slice-1MiB"; empty for images without them.
  std::vector<std::string> compressors = {};
  std::vector<std::string> tags = {};  // every registry tag pushed: the moving one, then the immutable one
  // A multi-platform image: `digest` is its index, and this maps each platform ("linux/arm64")
  // to that platform's manifest. Empty for a single-platform image.
  std::map<std::string, PlatformPin> platforms = {};
};

using Pins = std::map<std::string, Pin>;  // image tag -> pin, sorted

// The default path: $KSIMG_IMAGES_LOCK, else ./images.lock.json.
std::filesystem::path default_images_lock();

// Reads the file; an absent file is an empty map. DataError naming the file and the entry for
// anything malformed (unknown schema_version, missing fields, a reference whose digest differs).
Pins read_images_lock(const std::filesystem::path& path);

// Serialises pins (schema_version 1, keys sorted, 2-space indent, trailing newline).
std::string images_lock_json(const Pins& pins);

// Merges `updates` into the file under an flock on its directory (no lock file is left next
// to it) and writes it atomically when its bytes change; entries not in `updates` are kept.
void update_images_lock(const std::filesystem::path& path, const Pins& updates);

// The pin for image tag `tag` ("k4-mipsel"), or nullopt when the file or the entry is absent.
std::optional<Pin> find_pin(const std::filesystem::path& path, const std::string& tag);

}  // namespace ksimg::registry
