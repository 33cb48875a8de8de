// Reading one small member out of an archive without unpacking it (libarchive stays in oci).
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace ksimg::oci {

// Returns the contents of the first member whose path is `name` or "<one dir>/<name>"
// (e.g. "linux-5.10.229/Makefile"), reading any compression libarchive knows.
// nullopt when no such member exists; throws IntegrityError when the archive is corrupt.
std::optional<std::string> read_top_member(const std::filesystem::path& archive, const std::string& name,
                                           size_t max_bytes = 1 << 20);

// Returns the whole decompressed content of `file`, whatever its compression (xz, gzip,
// bzip2, zstd, ... or none), as detected by libarchive. Throws IntegrityError when the data
// is corrupt or decompresses to more than max_bytes.
std::string decompress_file(const std::filesystem::path& file, size_t max_bytes);

}  // namespace ksimg::oci
