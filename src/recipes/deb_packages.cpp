// Packages index parsing and dependency relations (see deb_packages.hpp). Stanza fields per
// Debian Policy §5.3; relation syntax per Policy §7.1 (alternatives, version relations,
// architecture qualifiers) and §7.1 build profiles / architecture restrictions.
#include "recipes/deb_packages.hpp"

#include <cctype>

#include "recipes/deb_control.hpp"
#include "recipes/deb_version.hpp"
#include "util/error.hpp"

namespace ksimg::recipes {

namespace {

std::string at_line(const std::string& what, size_t line) {
  return what + " line " + std::to_string(line);
}

bool is_hex64(std::string& s) {
  if (s.size() != 64) return false;
  for (char& c : s) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool safe_relative(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  for (size_t pos = 0; pos <= path.size();) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + pos, end - pos);
    if (part.empty() || part == "." || part == "..") return false;
    pos = end + 1;
  }
  return true;
}

Package to_package(const Paragraph& p, const std::string& what) {
  Package k;
  k.name = p.folded("Package");
  k.line = p.line;
  std::string where = at_line(what, p.line) + " (package " + k.name + ")";
  for (const char* f : {"Version", "Architecture", "Filename", "Size", "SHA256"})
    if (!p.has(f) || p.folded(f).empty()) throw IntegrityError(where + ": no " + f + " field");
  k.version = p.folded("Version");
  k.architecture = p.folded("Architecture");
  k.filename = p.folded("Filename");
  k.sha256 = p.folded("SHA256");
  std::string size = p.folded("Size");
  if (!parse_deb_version(k.version)) throw IntegrityError(where + ": invalid Version '" + k.version + "'");
  if (!is_hex64(k.sha256)) throw IntegrityError(where + ": SHA256 is not 64 hex digits");
  if (size.size() > 18 || size.find_first_not_of("0123456789") != std::string::npos)
    throw IntegrityError(where + ": Size '" + size + "' is not a byte count");
  if (!safe_relative(k.filename))
    throw IntegrityError(where + ": Filename '" + k.filename + "' is not a relative pool path");
  k.size = std::stoull(size);
  k.depends = p.folded("Depends");
  k.pre_depends = p.folded("Pre-Depends");
  k.source = p.folded("Source");
  k.multi_arch = p.folded("Multi-Arch");
  return k;
}

}  // namespace

std::map<std::string, Package> parse_packages(std::string_view text, const std::string& what,
                                              const std::set<std::string>* wanted) {
  std::map<std::string, Package> out;
  auto each = [&](const Paragraph& p) {
    const auto* f = p.find("Package");
    if (!f || f->first.empty())
      throw IntegrityError(at_line(what, p.line) + ": stanza without a Package field");
    std::string name(f->first);
    if (wanted && !wanted->count(name)) return;
    Package k = to_package(p, what);
    auto it = out.find(name);
    if (it == out.end())
      out.emplace(name, std::move(k));
    else if (compare_deb_versions(k.version, it->second.version) > 0)
      it->second = std::move(k);
  };
  try {
    for_each_paragraph(text, each);
  } catch (const ControlError& e) {
    throw IntegrityError(at_line(what, e.line) + ": " + e.what());
  }
  return out;
}

namespace {

bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
}

// Drops "[arch list]" and "<build profiles>" groups outside parentheses.
std::string strip_restrictions(std::string_view s) {
  std::string out;
  bool paren = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!paren && (c == '[' || c == '<')) {
      size_t end = s.find(c == '[' ? ']' : '>', i);
      if (end == std::string_view::npos) throw UsageError("unterminated '" + std::string(1, c) + "' group");
      i = end;
      continue;
    }
    paren = c == '(' ? true : (c == ')' ? false : paren);
    out += c;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

Relation parse_one(std::string_view text) {
  std::string s = strip_restrictions(text);
  std::string_view v = trim(s);
  Relation r;
  size_t i = 0;
  while (i < v.size() && name_char(v[i])) r.name += v[i++];
  if (i < v.size() && v[i] == ':')
    for (++i; i < v.size() && name_char(v[i]);) r.arch += v[i++];
  std::string_view rest = trim(v.substr(i));
  if (!rest.empty() && rest.front() == '(' && rest.back() == ')') {
    std::string_view in = trim(rest.substr(1, rest.size() - 2));
    size_t k = in.find_first_not_of("<>=");
    r.op = std::string(in.substr(0, k));
    r.version = std::string(trim(in.substr(k == std::string_view::npos ? in.size() : k)));
    rest = {};
  }
  static const std::set<std::string> ops{"<<", "<=", "=", ">=", ">>", "<", ">"};
  if (r.name.empty() || !rest.empty() || (!r.version.empty() && !ops.count(r.op)) ||
      (r.version.empty() && !r.op.empty()))
    throw UsageError("malformed relation '" + std::string(trim(text)) + "'");
  return r;
}

}  // namespace

std::vector<Alternatives> parse_relations(std::string_view field) {
  std::vector<Alternatives> out;
  for (size_t pos = 0; pos <= field.size();) {
    size_t end = field.find(',', pos);
    if (end == std::string_view::npos) end = field.size();
    std::string_view clause = trim(field.substr(pos, end - pos));
    pos = end + 1;
    if (clause.empty()) continue;
    Alternatives alt;
    for (size_t a = 0; a <= clause.size();) {
      size_t bar = clause.find('|', a);
      if (bar == std::string_view::npos) bar = clause.size();
      alt.push_back(parse_one(clause.substr(a, bar - a)));
      a = bar + 1;
    }
    out.push_back(std::move(alt));
  }
  return out;
}

bool satisfied(const Alternatives& alt, const std::map<std::string, std::string>& have) {
  for (const auto& r : alt) {
    auto it = have.find(r.name);
    if (it != have.end() && (r.op.empty() || version_satisfies(it->second, r.op, r.version))) return true;
  }
  return false;
}

std::string Relation::text() const {
  std::string s = name + (arch.empty() ? "" : ":" + arch);
  return op.empty() ? s : s + " (" + op + " " + version + ")";
}

std::string to_text(const Alternatives& alt) {
  std::string s;
  for (const auto& r : alt) s += (s.empty() ? "" : " | ") + r.text();
  return s;
}

}  // namespace ksimg::recipes
