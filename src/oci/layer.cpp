// LayerWriter (see layer.hpp for the canonical form): gathers entries into a detail::Tree,
// then streams detail::emit_tar through the diff_id hash into a threaded compressor whose
// output is hashed and written to a temp file, which then becomes blobs/sha256/<digest>
// (OCI image-spec layer.md, image-layout.md; docs/images.md "Determinism").
#include "oci/layer.hpp"

#include <zstd.h>

#include <optional>

#include "oci/detail/compress.hpp"
#include "oci/detail/sources.hpp"
#include "oci/detail/tar_emit.hpp"
#include "util/error.hpp"
#include "util/progress.hpp"

namespace ksimg::oci {

std::string_view layer_media_type(Compression c) {
  return c == Compression::zstd ? media::layer_zstd : media::layer_gzip;
}

Compression parse_compression(std::string_view name) {
  if (name == "gzip") return Compression::gzip;
  if (name == "zstd") return Compression::zstd;
  throw UsageError("unknown compression '" + std::string(name) + "': use gzip or zstd");
}

std::string compression_profile(Compression c) {
  if (c == Compression::zstd)
    return std::string("zstd libzstd-") + ZSTD_versionString() + " level-3 checksum mt";
  static_assert(detail::kGzipSlice % (1 << 10) == 0);
  std::string slice = detail::kGzipSlice % (1 << 20) == 0 ? std::to_string(detail::kGzipSlice >> 20) + "MiB"
                                                          : std::to_string(detail::kGzipSlice >> 10) + "KiB";
  return std::string("gzip libdeflate-") + detail::libdeflate_version() + " level-" +
         std::to_string(detail::kGzipLevel) + " slice-" + slice;
}

std::string libdeflate_version() {
  return detail::libdeflate_version();
}

std::string libdeflate_version_of(std::string_view profile) {
  constexpr std::string_view key = "libdeflate-";
  auto at = profile.find(key);
  if (at == std::string_view::npos) return {};
  auto rest = profile.substr(at + key.size());
  return std::string(rest.substr(0, rest.find(' ')));
}

struct LayerWriter::Impl {
  LayerOptions opts;
  detail::Tree tree;
  std::unique_ptr<detail::Spool> spool;

  detail::Spool& get_spool() {
    if (!spool) spool = std::make_unique<detail::Spool>(opts.spool_dir);
    return *spool;
  }

  detail::Placement placement(const SourceOptions& w) const {
    detail::Placement p;
    if (w.strip_components < 0) throw UsageError("strip_components must not be negative");
    p.strip = w.strip_components;
    std::string_view prefix = w.prefix;
    while (!prefix.empty() && prefix.front() == '/') prefix.remove_prefix(1);
    try {
      p.prefix = detail::clean_components(prefix, "layer prefix");
    } catch (const IntegrityError& e) {
      throw UsageError(std::string("invalid layer prefix: ") + e.what());
    }
    for (const auto& [from, to] : w.moves) {
      auto f = api_parts(from, "layer move source"), t = api_parts(to, "layer move target");
      if (f.empty() || t.empty()) throw UsageError("a layer move needs two non-empty directories");
      p.moves.emplace_back(std::move(f), std::move(t));
    }
    return p;
  }

  // Clean components of a layer path from API input ("/etc/x" and "etc/x" are the same path).
  static std::vector<std::string> api_parts(std::string_view path, const char* what) {
    while (!path.empty() && path.front() == '/') path.remove_prefix(1);
    try {
      return detail::clean_components(path, what);
    } catch (const IntegrityError& e) {
      throw UsageError(e.what());
    }
  }

  static std::string api_path(std::string_view path, const char* what) {
    auto parts = api_parts(path, what);
    if (parts.empty()) throw UsageError(std::string(what) + ": the path is empty");
    return detail::join_components(parts);
  }

  void put_marker(const std::string& path) {
    detail::Entry e;
    e.mtime = opts.source_date_epoch;
    tree.put(path, std::move(e), "whiteout");
  }
};

LayerWriter::LayerWriter(LayerOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
}
LayerWriter::~LayerWriter() = default;

void LayerWriter::add_directory(const std::filesystem::path& dir, const SourceOptions& where) {
  detail::add_dir_tree(impl_->tree, dir, impl_->placement(where));
}

void LayerWriter::add_archive(struct archive* reader, std::string_view origin, const SourceOptions& where) {
  detail::add_archive_entries(
      impl_->tree, [this]() -> detail::Spool& { return impl_->get_spool(); }, reader, impl_->placement(where),
      origin);
}

void LayerWriter::add_archive_file(const std::filesystem::path& file, const SourceOptions& where) {
  detail::add_archive_file(
      impl_->tree, [this]() -> detail::Spool& { return impl_->get_spool(); }, file, impl_->placement(where));
}

void LayerWriter::add_path(const std::filesystem::path& path, const SourceOptions& where) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(st)) return add_directory(path, where);
  if (std::filesystem::is_regular_file(st)) return add_archive_file(path, where);
  if (!std::filesystem::exists(st))
    throw UsageError("layer source " + path.string() +
                     " does not exist; give a directory or an archive file");
  throw UsageError("layer source " + path.string() + " is neither a directory nor a regular file");
}

void LayerWriter::add_whiteout(std::string_view path) {
  std::string p = Impl::api_path(path, "whiteout");
  auto slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "" : p.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (name.rfind(".wh.", 0) == 0)
    throw UsageError("cannot white out '" + p + "': the name itself starts with .wh.");
  impl_->put_marker(dir + ".wh." + name);
}

void LayerWriter::add_opaque_whiteout(std::string_view dir) {
  impl_->put_marker(Impl::api_path(dir, "opaque whiteout") + "/.wh..wh..opq");
}

size_t LayerWriter::entry_count() const {
  return impl_->tree.entries().size();
}

Digest LayerWriter::write_tar(const std::function<void(const char*, size_t)>& sink) const {
  Sha256 diff;
  detail::Canon canon{impl_->opts.source_date_epoch, impl_->opts.keep_owners, impl_->opts.keep_owner_names};
  detail::emit_tar(impl_->tree, impl_->spool.get(), canon, [&](const char* p, size_t n) {
    diff.update(p, n);
    sink(p, n);
  });
  return diff.finish();
}

LayerResult LayerWriter::write(const Layout& layout) const {
  auto tmp = layout.begin_blob();
  auto c = impl_->opts.compression;
  unsigned th = impl_->opts.threads;
  auto compressor =
      c == Compression::zstd ? detail::make_zstd(tmp->fd(), th) : detail::make_gzip(tmp->fd(), th);
  LayerResult r;
  std::optional<Progress> progress;
  if (!impl_->opts.progress_label.empty()) {
    uint64_t total = 0;
    for (const auto& [path, e] : impl_->tree.entries()) total += e.size;
    progress.emplace(impl_->opts.progress_label, total);
  }
  r.diff_id = write_tar([&](const char* p, size_t n) {
    r.tar_size += n;
    compressor->write(p, n);
    if (progress) progress->set(r.tar_size);
  });
  auto blob = compressor->finish();
  r.entries = entry_count();
  r.descriptor = {std::string(layer_media_type(c)),
                  blob.digest,
                  static_cast<int64_t>(blob.size),
                  {{std::string(compressor_annotation), compression_profile(c)}},
                  std::nullopt};
  layout.commit_blob(*tmp, blob.digest, r.descriptor.size);
  return r;
}

}  // namespace ksimg::oci
