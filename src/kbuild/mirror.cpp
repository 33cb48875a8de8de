// kernel.org's tarball layout and sha256sums.asc parsing (see mirror.hpp for the URL rule
// "<root>/v<major>.x/linux-<version>.tar.xz").
#include "kbuild/mirror.hpp"

#include <cctype>

#include "util/error.hpp"

namespace ksimg::kbuild {

std::string release_name(const matrix::Version& v) {
  if (v.rc || !v.extra.empty())
    throw UsageError(
        "kernel " + v.str() +
        " has no release tarball on a kernel.org mirror: pass its tree or tarball with --source");
  std::string s = std::to_string(v.major) + "." + std::to_string(v.minor);
  // kernel.org names the first release of a series without ".0" ("linux-5.10.tar.xz").
  if (v.patch && (*v.patch != 0 || v.sub)) s += "." + std::to_string(*v.patch);
  if (v.sub) s += "." + std::to_string(*v.sub);
  return s;
}

std::string top_dir(const matrix::Version& v) {
  return "linux-" + release_name(v);
}

std::string mirror_dir(const matrix::Version& v) {
  release_name(v);  // refuses what has no tarball
  if (v.major >= 3) return "v" + std::to_string(v.major) + ".x";
  return "v" + std::to_string(v.major) + "." + std::to_string(v.minor);
}

std::vector<MirrorEntry> tarball_candidates(const matrix::Version& v) {
  std::string base = "linux-" + release_name(v);
  std::vector<std::string> dirs = {mirror_dir(v)};
  if (v.major == 2 && v.minor == 6 && v.sub)
    dirs.push_back("v2.6/longterm/v2.6." + std::to_string(v.patch.value_or(0)));
  std::vector<MirrorEntry> out;
  for (const auto& d : dirs)
    for (const char* ext : {".tar.xz", ".tar.gz"}) out.push_back({d, base + ext});
  return out;
}

std::string join_url(std::string_view base, std::string_view rel) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  return std::string(base) + "/" + std::string(rel);
}

std::string sums_url(std::string_view base, const MirrorEntry& e) {
  return join_url(base, e.dir + "/sha256sums.asc");
}

// "<64 hex><space><space or *><name>" -> (hex lowercase, name); nullopt for any other line.
static std::optional<std::pair<std::string, std::string>> sum_line(std::string_view line) {
  if (line.size() < 67) return std::nullopt;
  std::string hex;
  for (size_t i = 0; i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(line[i]);
    if (!std::isxdigit(c)) return std::nullopt;
    hex += static_cast<char>(std::tolower(c));
  }
  if (line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) return std::nullopt;
  std::string name(line.substr(66));
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) name.pop_back();
  if (name.empty() || name.find('/') != std::string::npos) return std::nullopt;
  return std::make_pair(hex, name);
}

std::map<std::string, std::string> parse_sha256sums(std::string_view text) {
  std::map<std::string, std::string> sums;
  bool in_signature = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("-----BEGIN PGP SIGNATURE")) in_signature = true;
    if (line.starts_with("-----END PGP SIGNATURE")) in_signature = false;
    if (in_signature) continue;
    auto entry = sum_line(line);
    if (!entry) continue;
    auto [it, fresh] = sums.emplace(entry->second, entry->first);
    if (!fresh && it->second != entry->first)
      throw IntegrityError(
          "sha256sums lists " + entry->second +
          " twice with different digests: the mirror's listing is corrupt, use another mirror");
  }
  return sums;
}

std::optional<std::string> find_sha256(const std::map<std::string, std::string>& sums,
                                       const std::string& name) {
  auto it = sums.find(name);
  if (it == sums.end()) return std::nullopt;
  return it->second;
}

}  // namespace ksimg::kbuild
