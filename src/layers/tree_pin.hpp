// Sources pinned by their tree (recipes/README.md "nar_sha256"): the NAR hash of what an
// archive unpacks to, its single top directory stripped as a git archive's is.
#pragma once
#include <filesystem>
#include <string>

namespace ksimg::layers {

// "sha256-<base64>" of the tree `archive` unpacks to (top directory stripped), unpacked in a
// scratch directory below `scratch_parent` that is removed afterwards. IntegrityError for an
// archive that is corrupt, hostile or has more than one top-level entry.
std::string archive_nar_sri(const std::filesystem::path& archive,
                            const std::filesystem::path& scratch_parent);

}  // namespace ksimg::layers
