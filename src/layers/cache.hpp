// The download cache: files addressed by their sha256, shared by every ksimg process on a
// machine. <root>/sha256/<hex> holds verified bytes only: a download streams into a temp
// file under <root>/tmp while it is hashed, and is renamed into place only when its sha256
// (and size, when known) match. Root: --cache DIR, KSIMG_CACHE, $XDG_CACHE_HOME/ksimg,
// ~/.cache/ksimg. Tried URLs go in order (a mirror first, upstream after).
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "http/fetch.hpp"
#include "http/transport.hpp"

namespace ksimg::layers {

// The cache root: `flag` when set, else KSIMG_CACHE, else $XDG_CACHE_HOME/ksimg, else
// $HOME/.cache/ksimg. UsageError when none of them gives a directory.
std::filesystem::path default_cache_root(const std::string& flag = "");

// One pinned source as the download cache and a source mirror see it: by `sha256` of its
// bytes, or (empty sha256) by `nar_sha256`, the SRI NAR hash of the tree it unpacks to.
struct SourcePin {
  std::string name;  // file name ("gcc-4.4.7.tar.bz2"); the mirror's tag is derived from it
  std::vector<std::string> urls;
  std::string sha256;      // lowercase hex, or empty
  std::string nar_sha256;  // "sha256-<base64>", or empty
};

// A source mirror tried before the URLs (`--source-mirror REG/REPO`; the registry client
// implements it, the cli wires it in). fetch() writes the source's bytes to `dest` and
// returns true, or returns false when the mirror does not hold it; it throws for a mirror
// that cannot be reached or serves wrong bytes. The cache verifies what it wrote either way.
class SourceMirror {
 public:
  virtual ~SourceMirror() = default;
  virtual std::string name() const = 0;  // "REG/REPO", for messages
  virtual bool fetch(const SourcePin& pin, const std::filesystem::path& dest) = 0;
};

struct Fetched {
  std::filesystem::path file;  // <root>/sha256/<hex>
  bool hit = false;            // already cached; nothing was downloaded
  std::string url;             // the URL that served it (empty on a hit)
  uint64_t size = 0;
};

class DownloadCache {
 public:
  explicit DownloadCache(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path path_of(const std::string& sha256) const;

  // The cached file when present with this size (any size when unknown); with `verify`
  // its bytes are re-hashed too. A present file that does not match is removed (with a
  // warning) and reported absent.
  std::optional<std::filesystem::path> lookup(const std::string& sha256, std::optional<uint64_t> size,
                                              bool verify = false) const;

  // The cached file, downloading it first when absent: each URL in turn, with http's retry
  // policy for transient failures. Another process fetching the same digest waits on a
  // per-digest lock instead of downloading it twice. Throws IntegrityError when some URL
  // served other bytes (naming the URL, the expected and the actual sha256) and none served
  // the right ones; RuntimeError listing every URL and why when none could be downloaded.
  Fetched fetch(http::Transport& t, const std::vector<std::string>& urls, const std::string& sha256,
                std::optional<uint64_t> size = std::nullopt, bool verify = false) const;

  // A source pinned by its tree (pin.nar_sha256, no sha256): the archive cached under
  // <root>/nar/<hex of the NAR hash>, downloaded first when absent (the mirror, then each URL)
  // and kept only when the tree it unpacks to (top directory stripped) has that NAR hash.
  // IntegrityError naming the source, the URL and both hashes when no URL served that tree.
  Fetched fetch_tree(http::Transport& t, const SourcePin& pin) const;

  // A pinned source by whichever pin it has: fetch() for sha256, fetch_tree() for a tree.
  Fetched fetch_source(http::Transport& t, const SourcePin& pin, bool verify = false) const;

  http::RetryPolicy retry;                 // for each URL
  SourceMirror* mirror = nullptr;          // tried first by fetch() and fetch_tree() when set
  uint64_t max_bytes = uint64_t{8} << 30;  // when the size is unknown

 private:
  std::filesystem::path root_;
};

}  // namespace ksimg::layers
