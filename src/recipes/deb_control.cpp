// deb822 control-file parsing (see deb_control.hpp), after Debian Policy §5.1 "Syntax of
// control files" and deb822(5): fields, continuation lines, paragraph separators.
#include "recipes/deb_control.hpp"

#include <cctype>
#include <sstream>

namespace ksimg::recipes {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

static std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

const Paragraph::Field* Paragraph::find(std::string_view name) const {
  for (const auto& f : fields)
    if (iequals(f.name, name)) return &f;
  return nullptr;
}

std::string Paragraph::folded(std::string_view name) const {
  const Field* f = find(name);
  if (!f) return {};
  std::string out(f->first);
  for (auto l : f->more) {
    if (l.empty()) continue;
    if (!out.empty()) out += ' ';
    out += l;
  }
  return out;
}

std::vector<std::string_view> Paragraph::lines(std::string_view name) const {
  const Field* f = find(name);
  return f ? f->more : std::vector<std::string_view>{};
}

namespace {

struct Parser {
  const std::function<void(const Paragraph&)>& fn;
  bool comments;
  Paragraph p;

  void flush() {
    if (!p.fields.empty()) fn(p);
    p.fields.clear();
  }

  void field(std::string_view line, size_t lineno) {
    auto colon = line.find(':');
    std::string_view name =
        colon == std::string_view::npos ? std::string_view{} : trim(line.substr(0, colon));
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos)
      throw ControlError("expected 'Field: value', got '" + std::string(line.substr(0, 80)) + "'", lineno);
    if (p.find(name)) throw ControlError("duplicate field " + std::string(name), lineno);
    if (p.fields.empty()) p.line = lineno;
    p.fields.push_back({name, trim(line.substr(colon + 1)), {}});
  }

  void line(std::string_view l, size_t lineno) {
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (comments && !l.empty() && l[0] == '#') return;
    if (l.find_first_not_of(" \t") == std::string_view::npos) return flush();
    if (l[0] == ' ' || l[0] == '\t') {
      if (p.fields.empty()) throw ControlError("continuation line outside a field", lineno);
      p.fields.back().more.push_back(trim(l));
      return;
    }
    field(l, lineno);
  }
};

}  // namespace

void for_each_paragraph(std::string_view text, const std::function<void(const Paragraph&)>& fn,
                        bool comments) {
  Parser ps{fn, comments, {}};
  size_t lineno = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    ps.line(text.substr(pos, nl - pos), ++lineno);
    pos = nl + 1;
  }
  ps.flush();
}

std::vector<Paragraph> parse_paragraphs(std::string_view text, bool comments) {
  std::vector<Paragraph> out;
  for_each_paragraph(
      text, [&](const Paragraph& p) { out.push_back(p); }, comments);
  return out;
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace ksimg::recipes
