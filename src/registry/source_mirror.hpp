// Pinned sources kept in the user's registry as OCI artifacts (docs/mirror.md), so a CI that
// reaches only its registry can still build: one image manifest per source (image-spec 1.1
// artifact form: artifactType application/vnd.ksimg.source.v1, the empty config), whose one
// layer is the source's bytes (so the blob digest IS a byte pin's sha256), annotated with the
// source's name, URLs and pins, and tagged by a readable name derived from the file name.
// Byte-pinned sources are fetched by their digest; tree-pinned ones (nar_sha256) by their tag,
// the tag's manifest having to carry the same nar_sha256. Callers verify what they get.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "registry/blob_push.hpp"
#include "registry/client.hpp"

namespace ksimg::registry {

inline constexpr std::string_view kSourceArtifactType = "application/vnd.ksimg.source.v1";
inline constexpr std::string_view kSourceLayerType = "application/vnd.ksimg.source.file.v1";
inline constexpr std::string_view kEmptyConfigType = "application/vnd.oci.empty.v1+json";

struct SourceEntry {
  std::string name;               // file name: "gcc-13.3.0.tar.xz"
  std::vector<std::string> urls;  // upstream, for the annotation
  std::string sha256;             // hex; empty for a tree pin
  std::string nar_sha256;         // "sha256-<base64>"; may be empty
};

// The tag a source gets: its file name, '+' and other characters tags do not allow as '_',
// at most 128 characters ("gcc-13.3.0.tar.xz").
std::string source_tag(const std::string& name);

// The artifact manifest of a source whose bytes (`size`, sha256 `blob`) are its layer.
std::string source_manifest(const SourceEntry& e, const oci::Digest& blob, int64_t size);

struct SourcePushResult {
  std::string tag;
  oci::Digest manifest;
  BlobAction action = BlobAction::uploaded;  // of the source's bytes
  uint64_t bytes = 0;
};

// Uploads `file` (the source's verified bytes), the empty config, the manifest by digest, then
// the tag. IntegrityError when `file` does not hash to a byte pin.
SourcePushResult push_source(Registry& reg, const std::string& repo, const SourceEntry& e,
                             const std::filesystem::path& file);

enum class SourceState { present, missing, other };  // other: the tag holds other pins

// Whether the mirror holds the source: a byte pin's blob (HEAD), or for a tree pin the tag
// whose manifest carries that nar_sha256.
SourceState check_source(Registry& reg, const std::string& repo, const SourceEntry& e);

// Downloads the source into `dest` (digest and size checked against the manifest or the pin);
// false when the mirror does not hold it. IntegrityError for wrong bytes, RuntimeError when the
// registry fails.
bool fetch_source(Registry& reg, const std::string& repo, const SourceEntry& e,
                  const std::filesystem::path& dest);

}  // namespace ksimg::registry
