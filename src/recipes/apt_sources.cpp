// apt sources parsing and Debian mirror discovery (see apt_sources.hpp), after
// sources.list(5): one-line style ("deb [options] uri suite [component...]") and deb822
// style (Types/URIs/Suites/Components/Enabled).
#include "recipes/apt_sources.hpp"

#include <algorithm>
#include <sstream>

#include "recipes/deb_control.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::recipes {

namespace {

bool starts_with_ci(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && iequals(s.substr(0, p.size()), p);
}

std::string without_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool http_url(std::string_view u) {
  return starts_with_ci(u, "http://") || starts_with_ci(u, "https://");
}

}  // namespace

std::vector<AptSource> parse_one_line_sources(std::string_view text, const std::string& file) {
  std::vector<AptSource> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    auto type_end = line.find_first_of(" \t", line.find_first_not_of(" \t"));
    auto opt = type_end == std::string::npos ? type_end : line.find_first_not_of(" \t", type_end);
    if (opt != std::string::npos && line[opt] == '[' && line.find(']', opt) != std::string::npos)
      line.erase(opt, line.find(']', opt) - opt + 1);  // "[arch=amd64 signed-by=...]" options
    auto w = split_words(line);
    if (w.size() < 3 || (w[0] != "deb" && w[0] != "deb-src")) continue;
    AptSource s{{w[0]}, {w[1]}, {w[2]}, {w.begin() + 3, w.end()}, file};
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<AptSource> parse_deb822_sources(std::string_view text, const std::string& file) {
  std::vector<AptSource> out;
  for_each_paragraph(
      text,
      [&](const Paragraph& p) {
        if (iequals(p.folded("Enabled"), "no")) return;
        AptSource s{split_words(p.folded("Types")), split_words(p.folded("URIs")),
                    split_words(p.folded("Suites")), split_words(p.folded("Components")), file};
        if (!s.types.empty() && !s.uris.empty()) out.push_back(std::move(s));
      },
      true);
  return out;
}

std::vector<AptSource> read_apt_sources(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::vector<fs::path> paths{root / "etc/apt/sources.list"};
  std::vector<fs::path> dir;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "etc/apt/sources.list.d", ec))
    if (e.path().extension() == ".list" || e.path().extension() == ".sources") dir.push_back(e.path());
  std::sort(dir.begin(), dir.end());
  paths.insert(paths.end(), dir.begin(), dir.end());
  std::vector<AptSource> out;
  for (const auto& f : paths) {
    try {
      auto text = files::read_if_exists(f);
      if (!text) continue;
      auto got = f.extension() == ".sources" ? parse_deb822_sources(*text, f.string())
                                             : parse_one_line_sources(*text, f.string());
      out.insert(out.end(), got.begin(), got.end());
    } catch (const std::exception& e) {
      log::warn("skipping apt sources file " + f.string() + ": " + e.what());
    }
  }
  return out;
}

namespace {

// 0: unusable; 1: a Debian-style main suite on some http(s) URI; 2: and the URI ends in /debian.
int score(const AptSource& s, const std::string& uri) {
  if (std::find(s.types.begin(), s.types.end(), "deb") == s.types.end() || !http_url(uri)) return 0;
  if (std::find(s.components.begin(), s.components.end(), "main") == s.components.end()) return 0;
  std::string u = without_trailing_slash(uri);
  if (u.ends_with("-security")) return 0;
  bool main_suite = std::any_of(s.suites.begin(), s.suites.end(), [](const std::string& x) {
    return !x.empty() && x.find_first_of("-/") == std::string::npos;
  });
  if (!main_suite) return 0;
  return u.ends_with("/debian") ? 2 : 1;
}

}  // namespace

std::optional<std::string> pick_debian_mirror(const std::vector<AptSource>& sources) {
  std::optional<std::string> best;
  int best_score = 0;
  for (const auto& s : sources)
    for (const auto& uri : s.uris)
      if (int sc = score(s, uri); sc > best_score) {
        best_score = sc;
        best = without_trailing_slash(uri);
      }
  return best;
}

std::string discover_debian_mirror(const std::string& flag, const std::filesystem::path& root) {
  if (!flag.empty()) {
    if (!http_url(flag))
      throw UsageError("--debian-mirror '" + flag +
                       "' is not an http:// or https:// URL of a Debian archive root");
    return without_trailing_slash(flag);
  }
  auto m = pick_debian_mirror(read_apt_sources(root));
  if (!m)
    throw UsageError("no Debian mirror: the host's apt sources (" + (root / "etc/apt").string() +
                     ") list no http(s) Debian archive with a main suite; pass --debian-mirror URL "
                     "(env KSIMG_DEBIAN_MIRROR)");
  log::debug("Debian mirror from the host's apt sources: " + *m);
  return *m;
}

}  // namespace ksimg::recipes
