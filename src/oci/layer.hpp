// The layer writer: merges a directory tree and/or entries streamed from archives into one
// canonical tar, compresses it and stores it as a blob of an OCI layout, computing the
// diff_id (sha256 of the tar) and the blob digest in the same streaming pass.
//
// Canonical tar (docs/images.md "Determinism"; OCI image-spec layer.md):
//  - format: libarchive "pax restricted": ustar headers; a pax 'x' header only when ustar
//    cannot hold a field (a name or link target over the ustar limits or not ASCII, xattrs,
//    sizes >= 8 GiB, uid/gid >= 2^18); never atime/ctime records;
//  - members in bytewise order of their full path (a parent is a prefix, so it comes first);
//    no "./" prefix and no entry for the root; directories end in '/';
//  - uid/gid 0 and empty uname/gname unless keep_owners / keep_owner_names;
//  - mtime = min(mtime, source_date_epoch) in whole seconds (negative times become 0);
//  - permission bits kept, including setuid/setgid/sticky;
//  - xattrs user.* and security.* (e.g. security.capability) kept, sorted by name;
//    security.selinux, trusted.* and system.* (ACLs) dropped: they describe the build host;
//  - hardlinks kept: of the names sharing an inode, the bytewise-smallest carries the data
//    and the others are typeflag '1' links to it;
//  - character/block devices and fifos kept; sockets skipped with a warning;
//  - the tar ends with its two zero blocks, without record padding.
// Compression profiles (pinned; the blob digest depends on them and on the libdeflate/zstd
// version, the diff_id does not; docs/oci.md):
//  - gzip: the tar cut into 1 MiB slices, each one complete gzip member made by libdeflate
//    at level 6 (libdeflate's header: no name, MTIME 0, XFL 0, OS 255); the members joined
//    in order. Every gzip reader reads the members as one stream (RFC 1952 §2.2);
//  - zstd: level 3, content checksum, libzstd multithreaded mode.
// Each layer descriptor carries the profile as the annotation org.kernelsmith.compressor.
// Threads: the caller's thread walks, reads and builds the tar and its diff_id; compression
// runs on one worker per core; a writer thread hashes the compressed bytes and writes them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "oci/descriptor.hpp"
#include "oci/digest.hpp"
#include "oci/layout.hpp"

struct archive;  // libarchive's reader, for LayerWriter::add_archive

namespace ksimg::oci {

enum class Compression { gzip, zstd };

std::string_view layer_media_type(Compression c);
// "gzip" or "zstd"; throws UsageError otherwise.
Compression parse_compression(std::string_view name);
// The pinned profile, for records, logs and the layer annotation:
// "gzip libdeflate-1.14 level-6 slice-1MiB" or "zstd libzstd-1.5.4 level-3 checksum mt".
std::string compression_profile(Compression c);
// The layer descriptor annotation that carries compression_profile().
inline constexpr std::string_view compressor_annotation = "org.kernelsmith.compressor";
// The libdeflate version this ksimg was built with ("1.14"), and the one named in a gzip
// profile string (empty when the string names none).
std::string libdeflate_version();
std::string libdeflate_version_of(std::string_view profile);

struct LayerOptions {
  int64_t source_date_epoch = 0;  // mtimes later than this are clamped to it
  Compression compression = Compression::gzip;
  bool keep_owners = false;       // keep numeric uid/gid instead of 0/0
  bool keep_owner_names = false;  // with keep_owners: also keep uname/gname
  // Where file data streamed from archives waits until it is written (default: temp dir).
  std::filesystem::path spool_dir;
  // When set, write() shows "<label>" with bytes written against the files' total size on
  // a terminal (util/progress.hpp); nothing elsewhere.
  std::string progress_label;
  // Compression worker threads; 0 = one per core. The blob bytes never depend on it.
  unsigned threads = 0;
};

// Where a source's entries go in the layer.
struct SourceOptions {
  std::string prefix;        // a directory inside the layer, e.g. "opt/toolchain"
  int strip_components = 0;  // archive members: drop this many leading components first
  // Members that land in or under the first directory go under the second instead, e.g.
  // {"usr/bin", "opt/tc/bin"}: "usr/bin/ld" -> "opt/tc/bin/ld", "usr/bin" -> "opt/tc/bin".
  // The first matching pair applies, after prefix and strip_components; link targets are
  // kept as written (a relative link moves with its directory).
  std::vector<std::pair<std::string, std::string>> moves;
};

struct LayerResult {
  Descriptor descriptor;  // the compressed blob (media type, digest, size)
  Digest diff_id;         // sha256 of the uncompressed tar
  uint64_t tar_size = 0;
  size_t entries = 0;
};

// Collects entries, later sources replacing earlier entries of the same path, then writes
// them. Hostile archive members (absolute names, "..", NUL, a hardlink to a missing or
// outside member, a member below a symlink of the layer) throw IntegrityError.
class LayerWriter {
 public:
  explicit LayerWriter(LayerOptions opts = {});
  ~LayerWriter();
  LayerWriter(const LayerWriter&) = delete;
  LayerWriter& operator=(const LayerWriter&) = delete;

  // Everything below `dir` (not `dir` itself); symlinks are stored, never followed.
  void add_directory(const std::filesystem::path& dir, const SourceOptions& where = {});
  // The remaining entries of an open libarchive reader; `origin` names it in errors. Call it
  // before the reader has read any header, so member names are decoded as UTF-8.
  void add_archive(struct archive* reader, std::string_view origin, const SourceOptions& where = {});
  // A tar/cpio file in any compression libarchive reads, or a .deb (its data.tar.* member).
  void add_archive_file(const std::filesystem::path& file, const SourceOptions& where = {});
  // A directory or an archive file, by what `path` is.
  void add_path(const std::filesystem::path& path, const SourceOptions& where = {});
  // Marks `path` as deleted from the layers below (".wh.<name>" in its directory).
  void add_whiteout(std::string_view path);
  // Hides everything the layers below hold inside `dir` (".wh..wh..opq").
  void add_opaque_whiteout(std::string_view dir);

  size_t entry_count() const;
  // Writes the blob into `layout` and returns its descriptor and diff_id.
  LayerResult write(const Layout& layout) const;
  // Streams the uncompressed canonical tar to `sink`; returns its digest (the diff_id).
  Digest write_tar(const std::function<void(const char*, size_t)>& sink) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ksimg::oci
