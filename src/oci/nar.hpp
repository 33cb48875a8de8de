// Nix archive (NAR) hashes of file trees, for inputs pinned by their tree rather than their
// bytes (a git archive's compression is not stable, its tree is). The NAR serialization
// (Nix's "nix-archive-1": u64-LE-length-prefixed strings padded to 8 bytes; regular files with
// their executable bit, symlinks with their target, directories with entries sorted bytewise)
// is streamed straight into SHA-256, so no archive is ever built in memory. The result equals
// `nix-hash --type sha256 PATH`; flake.lock writes it in SRI form ("sha256-<base64>").
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.hpp"

namespace ksimg::oci {

// The NAR hash of `path` (a directory, regular file or symlink; a symlink at the top is
// serialized as a symlink, not followed). Throws RuntimeError naming the path on I/O errors
// and for a file type NAR cannot hold (device, fifo, socket).
Digest nar_sha256(const std::filesystem::path& path);

// "sha256-<base64 of the 32 raw bytes>" (the SRI form flake.lock uses).
std::string to_sri(const Digest& d);
// The digest of an SRI "sha256-<base64>" string; nullopt when it is not one.
std::optional<Digest> from_sri(std::string_view sri);

}  // namespace ksimg::oci
