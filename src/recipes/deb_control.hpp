// Debian control-file syntax (deb822, Debian Policy §5.1): paragraphs of "Field: value"
// lines separated by blank lines; continuation lines start with a space or tab. Used for
// Release, Packages and apt's .sources files. Views point into the caller's text.
#pragma once
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::recipes {

// A syntax error; `line` is 1-based. Callers turn it into an error naming their file.
struct ControlError : std::runtime_error {
  ControlError(const std::string& msg, size_t line) : std::runtime_error(msg), line(line) {}
  size_t line;
};

class Paragraph {
 public:
  struct Field {
    std::string_view name;
    std::string_view first;              // the value on the field's own line, trimmed
    std::vector<std::string_view> more;  // continuation lines, trimmed, '\r' removed
  };

  size_t line = 0;  // where the paragraph starts (1-based)
  std::vector<Field> fields;

  // The field (names compare case-insensitively), or nullptr.
  const Field* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }
  // A simple or folded field as one line: all its lines joined by single spaces; "" if absent.
  std::string folded(std::string_view name) const;
  // A multiline field's continuation lines (Release's SHA256 list, ...); empty if absent.
  std::vector<std::string_view> lines(std::string_view name) const;
};

// Calls `fn` for each paragraph of `text`, in order. CRLF line ends and lines of only spaces
// or tabs between paragraphs are tolerated; with `comments`, lines starting with '#' are
// skipped (apt's .sources files allow them). Throws ControlError for a line that is neither a
// field, a continuation nor blank, and for a duplicate field in one paragraph.
void for_each_paragraph(std::string_view text, const std::function<void(const Paragraph&)>& fn,
                        bool comments = false);

// All paragraphs (views into `text`).
std::vector<Paragraph> parse_paragraphs(std::string_view text, bool comments = false);

bool iequals(std::string_view a, std::string_view b);

// The whitespace-separated words of a field value (Release's SHA256 lines, sources' Suites).
std::vector<std::string> split_words(std::string_view s);

}  // namespace ksimg::recipes
