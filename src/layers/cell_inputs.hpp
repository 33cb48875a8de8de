// The inputs hash of a cell image: sha256 over the cell's slice of the lock (its base and
// toolchain entries, the Debian suites they came from, SOURCE_DATE_EPOCH), the launcher
// layer's diff_id (this ksimg's kbuild and data) and the compression profile. Equal hashes
// mean equal inputs, and reproducible builds make equal inputs give one digest: `ksimg push`
// names the immutable tag `<tag>-<first 12 hex>` after it and refuses to move it.
#pragma once
#include <cstdint>
#include <string>

#include "oci/digest.hpp"
#include "oci/layer.hpp"
#include "recipes/lock.hpp"

namespace ksimg::layers {

// The part of `lock` that the image of `recipe` for an `host_arch` host ("amd64", "arm64") is
// built from, as canonical lock text: that host's package sets as the entries' "packages",
// other hosts' left out (so pinning arm64 never changes an amd64 image's inputs hash).
std::string cell_lock_slice(const recipes::Lock& lock, const std::string& recipe, int64_t epoch,
                            const std::string& host_arch = "amd64");

// 64 hex characters; see the file comment. A host other than amd64 adds a "host" line.
std::string cell_inputs_sha256(const recipes::Lock& lock, const std::string& recipe, int64_t epoch,
                               const oci::Digest& launcher_diff_id, oci::Compression compression,
                               const std::string& host_arch = "amd64");

// "k4-mipsel" + "-" + the first 12 hex characters of `inputs_sha256`.
std::string immutable_tag(const std::string& tag, const std::string& inputs_sha256);

}  // namespace ksimg::layers
