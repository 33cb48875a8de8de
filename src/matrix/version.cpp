// Kernel version parsing and ordering (see version.hpp). The ordering follows the rule
// kernelsmith's resolve.nix relies on (Nix compareVersions on "X.Y[.Z]" strings), restated:
// numbers compare numerically, so 4.10 > 4.9, and "-rcN" belongs to the release it precedes.
#include "matrix/version.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <regex>
#include <vector>

#include "util/error.hpp"

namespace ksimg::matrix {

const char* version_forms() {
  return "MAJOR.MINOR[.PATCH[.SUB]][-rcN], optionally prefixed 'v' or 'linux-' "
         "(e.g. 2.6.39.4, 3.18.140, 5.10, v6.6, 6.0-rc1), or a path to a kernel tree or tarball";
}

std::string Version::str() const {
  std::string s = std::to_string(major) + "." + std::to_string(minor);
  if (patch) s += "." + std::to_string(*patch);
  if (sub) s += "." + std::to_string(*sub);
  if (rc) s += "-rc" + std::to_string(*rc);
  s += extra;
  return s;
}

std::strong_ordering Version::band_compare(const Version& o) const {
  if (auto c = major <=> o.major; c != 0) return c;
  if (auto c = minor <=> o.minor; c != 0) return c;
  if (auto c = patch.value_or(0) <=> o.patch.value_or(0); c != 0) return c;
  return sub.value_or(0) <=> o.sub.value_or(0);
}

static int to_int(const std::string& s, std::string_view text) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    throw UsageError("kernel version '" + std::string(text) + "' has a number out of range");
  return v;
}

static void check_supported(const Version& v, std::string_view text) {
  if (v.major < 2 || (v.major == 2 && v.minor < 6))
    throw UsageError("kernel version '" + std::string(text) +
                     "' is older than 2.6; ksimg builds Linux 2.6 and later");
  if (v.major == 2 && v.minor > 6)
    throw UsageError("kernel version '" + std::string(text) +
                     "' does not exist (Linux 2.6 was followed by 3.0)");
}

Version parse_version(std::string_view text) {
  std::string s(text);
  if (s.empty()) throw UsageError(std::string("no kernel version given; expected ") + version_forms());
  if (s.size() > 64)  // std::regex recurses per character: bound the input (found by fuzz_version)
    throw UsageError("kernel version '" + s.substr(0, 64) + "...' is too long; expected " + version_forms());
  static const std::regex re(R"(^(?:v|linux-)?(\d+)\.(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-rc(\d+))?$)");
  std::smatch m;
  if (!std::regex_match(s, m, re)) {
    std::string hint =
        s.find('.') == std::string::npos && !s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))
            ? " (a major number alone is ambiguous: give at least MAJOR.MINOR)"
            : "";
    throw UsageError("'" + s + "' is not a kernel version" + hint + "; expected " + version_forms());
  }
  Version v;
  v.major = to_int(m[1], text);
  v.minor = to_int(m[2], text);
  if (m[3].matched) v.patch = to_int(m[3], text);
  if (m[4].matched) v.sub = to_int(m[4], text);
  if (m[5].matched) v.rc = to_int(m[5], text);
  if (v.sub && !(v.major == 2 && v.minor == 6))
    throw UsageError("'" + s + "' has four numbers; only 2.6 stable releases (2.6.39.4) have a fourth");
  check_supported(v, text);
  return v;
}

// Value of "NAME = value" (or "NAME := value") on a line of a Makefile, or nullopt. Scanned by
// hand: std::regex recursed per character and overflowed the stack on long lines (fuzz_version).
static std::optional<std::string> make_var(std::string_view mk, std::string_view name) {
  for (size_t pos = 0; pos <= mk.size();) {
    size_t end = std::min(mk.find('\n', pos), mk.size());
    std::string_view line = mk.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(name)) continue;
    line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t", name.size())));
    if (line.starts_with(":="))
      line.remove_prefix(2);
    else if (line.starts_with("="))
      line.remove_prefix(1);
    else
      continue;
    line = line.substr(0, line.find('#'));
    line.remove_prefix(std::min(line.size(), line.find_first_not_of(" \t")));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    return std::string(line);
  }
  return std::nullopt;
}

// The digits right after `prefix` at the start of `s` ("" when there are none); `rest` gets
// what follows them.
static std::string digits_after(std::string_view s, std::string_view prefix, std::string& rest) {
  if (!s.starts_with(prefix)) return "";
  s.remove_prefix(prefix.size());
  size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  std::string digits(s.substr(0, n));
  if (n > 0) rest = std::string(s.substr(n));  // `s` may view `rest`: copy the digits first
  return digits;
}

Version parse_makefile_version(std::string_view mk, const std::string& origin) {
  auto ver = make_var(mk, "VERSION"), pl = make_var(mk, "PATCHLEVEL");
  auto sl = make_var(mk, "SUBLEVEL"), ex = make_var(mk, "EXTRAVERSION");
  if (!ver || !pl || ver->empty() || pl->empty())
    throw UsageError(origin +
                     " has no VERSION/PATCHLEVEL lines; is this the top-level Makefile of a Linux tree?");
  std::string text = *ver + "." + *pl;
  if (sl && !sl->empty()) text += "." + *sl;
  std::string extra = ex ? *ex : "";
  // 2.6 stable trees carry the fourth number in EXTRAVERSION (".4").
  if (auto fourth = digits_after(extra, ".", extra); !fourth.empty()) text += "." + fourth;
  Version v = parse_version(text);
  if (auto rc = digits_after(extra, "-rc", extra); !rc.empty())
    v.rc = to_int(rc, origin + " EXTRAVERSION -rc" + rc);  // std::stoi threw out_of_range
  v.extra = extra;
  return v;
}

}  // namespace ksimg::matrix

namespace ksimg::matrix {

static std::vector<std::string> split_dots(std::string_view s) {
  std::vector<std::string> out(1);
  for (char c : s) {
    if (c == '.')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

int compare_dotted(std::string_view a, std::string_view b) {
  auto x = split_dots(a), y = split_dots(b);
  for (size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
    std::string p = i < x.size() ? x[i] : "0", q = i < y.size() ? y[i] : "0";
    bool num = !p.empty() && !q.empty() && std::all_of(p.begin(), p.end(), ::isdigit) &&
               std::all_of(q.begin(), q.end(), ::isdigit);
    if (num) {  // compared as digit strings: any length, no overflow (std::stoll threw)
      p.erase(0, std::min(p.find_first_not_of('0'), p.size()));
      q.erase(0, std::min(q.find_first_not_of('0'), q.size()));
      if (p.size() != q.size()) return p.size() < q.size() ? -1 : 1;
      if (p != q) return p < q ? -1 : 1;
    } else if (p != q) {
      return p < q ? -1 : 1;
    }
  }
  return 0;
}

}  // namespace ksimg::matrix
