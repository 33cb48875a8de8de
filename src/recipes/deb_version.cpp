// Debian version parsing and ordering (see deb_version.hpp), following Debian Policy
// §5.6.12: the epoch compares numerically; upstream and revision compare by alternating
// non-digit parts (letters before non-letters, '~' before everything including the end)
// and digit parts (numerically).
#include "recipes/deb_version.hpp"

#include <cctype>

#include "util/error.hpp"

namespace ksimg::recipes {

namespace {

bool digit(char c) {
  return c >= '0' && c <= '9';
}
bool alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Sort weight of one character in a non-digit part; 0 stands for "end of part".
int weight(char c) {
  if (alpha(c)) return c;
  if (c == '~') return -1;
  return c + 256;
}

// Compares the non-digit prefixes at a[i..], b[j..] and advances past them.
int compare_letters(std::string_view a, size_t& i, std::string_view b, size_t& j) {
  while ((i < a.size() && !digit(a[i])) || (j < b.size() && !digit(b[j]))) {
    int wa = i < a.size() && !digit(a[i]) ? weight(a[i]) : 0;
    int wb = j < b.size() && !digit(b[j]) ? weight(b[j]) : 0;
    if (wa != wb) return wa < wb ? -1 : 1;
    ++i;
    ++j;
  }
  return 0;
}

// Compares the digit runs at a[i..], b[j..] numerically and advances past them.
int compare_digits(std::string_view a, size_t& i, std::string_view b, size_t& j) {
  while (i < a.size() && a[i] == '0') ++i;
  while (j < b.size() && b[j] == '0') ++j;
  int first = 0;
  while (i < a.size() && digit(a[i]) && j < b.size() && digit(b[j])) {
    if (!first) first = a[i] < b[j] ? -1 : (a[i] > b[j] ? 1 : 0);
    ++i;
    ++j;
  }
  if (i < a.size() && digit(a[i])) return 1;  // a's number has more digits
  if (j < b.size() && digit(b[j])) return -1;
  return first;
}

int compare_part(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (int c = compare_letters(a, i, b, j)) return c;
    if (int c = compare_digits(a, i, b, j)) return c;
  }
  return 0;
}

bool allowed(char c) {
  return digit(c) || alpha(c) || c == '.' || c == '+' || c == '-' || c == '~' || c == ':';
}

}  // namespace

std::optional<DebVersion> parse_deb_version(std::string_view text) {
  if (text.empty()) return std::nullopt;
  for (char c : text)
    if (!allowed(c)) return std::nullopt;
  DebVersion v;
  std::string_view rest = text;
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    std::string_view e = rest.substr(0, colon);
    if (e.empty() || e.size() > 9) return std::nullopt;
    for (char c : e)
      if (!digit(c)) return std::nullopt;
    v.epoch = std::stoul(std::string(e));
    rest = rest.substr(colon + 1);
  }
  if (auto dash = rest.rfind('-'); dash != std::string_view::npos) {
    v.revision = std::string(rest.substr(dash + 1));
    rest = rest.substr(0, dash);
    if (v.revision.empty() || v.revision.find(':') != std::string::npos) return std::nullopt;
  }
  if (rest.empty() || !digit(rest[0]) || rest.find(':') != std::string_view::npos) return std::nullopt;
  v.upstream = std::string(rest);
  return v;
}

int compare_deb_versions(const DebVersion& a, const DebVersion& b) {
  if (a.epoch != b.epoch) return a.epoch < b.epoch ? -1 : 1;
  if (int c = compare_part(a.upstream, b.upstream)) return c;
  return compare_part(a.revision, b.revision);
}

static DebVersion must_parse(std::string_view s) {
  auto v = parse_deb_version(s);
  if (!v) throw UsageError("'" + std::string(s) + "' is not a Debian version ([epoch:]upstream[-revision])");
  return *v;
}

int compare_deb_versions(std::string_view a, std::string_view b) {
  return compare_deb_versions(must_parse(a), must_parse(b));
}

bool version_satisfies(std::string_view version, std::string_view op, std::string_view ref) {
  int c = compare_deb_versions(version, ref);
  if (op == "<<") return c < 0;
  if (op == "<=" || op == "<") return c <= 0;
  if (op == "=") return c == 0;
  if (op == ">=" || op == ">") return c >= 0;
  if (op == ">>") return c > 0;
  throw UsageError("unknown version relation '" + std::string(op) + "' (expected <<, <=, =, >=, >>)");
}

}  // namespace ksimg::recipes
