// The kernel.org source-tarball layout: where a release lives under a mirror
// root ("v5.x/linux-5.10.223.tar.xz"), and the directory's sha256sums.asc that vouches for it.
// Pure functions, no I/O: kbuild (in the image) and `ksimg kbuild` (on the host) both download
// with these names and verify against the parsed sums.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "matrix/version.hpp"

namespace ksimg::kbuild {

// kernel.org's CDN root, used when neither --mirror nor KSIMG_KERNEL_MIRROR is given.
inline constexpr const char* default_kernel_mirror = "https://cdn.kernel.org/pub/linux/kernel";

// The release name as kernel.org spells it: "5.10.223", "5.10" (for 5.10 and 5.10.0),
// "2.6.39.4". Throws UsageError for release candidates and local EXTRAVERSIONs: the mirror
// has no tarball for them (pass --source).
std::string release_name(const matrix::Version& v);

// The tree's top directory inside the tarball: "linux-5.10.223".
std::string top_dir(const matrix::Version& v);

// One place a tarball may be: its directory under the mirror root ("v5.x",
// "v2.6/longterm/v2.6.32") and its basename ("linux-5.10.223.tar.xz").
struct MirrorEntry {
  std::string dir;
  std::string name;
  std::string path() const { return dir + "/" + name; }
};

// The directory for a version: "v2.6" for 2.6.x, "v3.x" .. "v6.x" (and vN.x after). Throws UsageError for
// release candidates/extra versions (see release_name).
std::string mirror_dir(const matrix::Version& v);

// Where to look, in order: .tar.xz then .tar.gz in mirror_dir(v); for 2.6.x.y also in
// "v2.6/longterm/v2.6.x" (where kernel.org keeps the long-term 2.6 series).
std::vector<MirrorEntry> tarball_candidates(const matrix::Version& v);

// "<base>/<rel>" with exactly one slash between them ("http://127.0.0.1:8080/k/" + "v5.x/x").
std::string join_url(std::string_view base, std::string_view rel);

// The URL of the sha256sums.asc that lists `e`'s file: "<base>/<e.dir>/sha256sums.asc".
std::string sums_url(std::string_view base, const MirrorEntry& e);

// Parses a sha256sums.asc (a clearsigned "sha256sum" listing): every line "<64 hex>  <name>"
// (also "<hex> *<name>", binary mode) becomes name -> lowercase hex; the PGP armour, the
// signature block and anything else are skipped. Throws IntegrityError when a name is listed
// twice with different digests; returns an empty map when no line matches.
std::map<std::string, std::string> parse_sha256sums(std::string_view text);

// The digest listed for `name`, if any.
std::optional<std::string> find_sha256(const std::map<std::string, std::string>& sums,
                                       const std::string& name);

}  // namespace ksimg::kbuild
