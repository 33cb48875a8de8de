// OCI 1.1 referrers (image-spec "Refers", distribution-spec "Listing Referrers"): an artifact
// (an SBOM) pushed as a manifest whose `subject` is an image manifest, and found back from the
// image. Where the registry has the referrers API (a manifest PUT answered with an OCI-Subject
// header; GET /v2/<name>/referrers/<digest>) it indexes the artifact itself; where it does not
// (Debian's docker-registry, distribution 2.8) the client keeps the referrers tag schema: the
// tag `sha256-<hex>` names an image index listing the referrers, read, extended and written back.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "oci/descriptor.hpp"
#include "registry/client.hpp"

namespace ksimg::registry {

struct ReferrerPush {
  oci::Descriptor manifest;  // the artifact manifest (artifactType, subject)
  bool api = false;          // the registry indexed it (referrers API); false: the tag schema was written
};

// Pushes `blob` as an artifact of type `artifact_type` (its one layer has that media type, the
// config is the empty descriptor) referring to `subject` in `repository`.
ReferrerPush push_referrer(Registry& reg, const std::string& repository, const oci::Descriptor& subject,
                           const std::string& artifact_type, const std::string& blob);

// The referrers of `subject` whose artifactType is `artifact_type`, from the API when the registry
// has it, else from the tag schema's index; empty when there are none.
std::vector<oci::Descriptor> list_referrers(Registry& reg, const std::string& repository,
                                            const oci::Digest& subject, const std::string& artifact_type,
                                            bool* used_api = nullptr);

// The manifest `reference` (tag or digest) names: its descriptor (media type, digest, size).
oci::Descriptor manifest_descriptor(Registry& reg, const std::string& repository,
                                    const std::string& reference);

// The image manifest `reference` names for `platform`: the manifest itself, or, when it is an
// index (or manifest list), that platform's entry. UsageError when the index has no such entry,
// naming the platforms it has.
oci::Descriptor platform_descriptor(Registry& reg, const std::string& repository,
                                    const std::string& reference, const oci::Platform& platform);

// The bytes of the first layer of artifact manifest `artifact`, checked against its digest.
std::string artifact_blob(Registry& reg, const std::string& repository, const oci::Descriptor& artifact);

}  // namespace ksimg::registry
