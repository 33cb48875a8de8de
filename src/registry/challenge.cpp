// WWW-Authenticate parsing (challenge.hpp), after RFC 9110 §11.6.1 and §11.2:
//   WWW-Authenticate = #challenge
//   challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//   auth-param = token BWS "=" BWS ( token / quoted-string )
// A comma separates both the params of one challenge and two challenges: a name followed by
// '=' is a param, anything else starts the next challenge. Unquoted values are read up to the
// next comma or space (servers write `realm=https://h/token` unquoted in the wild).
#include "registry/challenge.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace ksimg::registry {

namespace {

constexpr size_t kMaxChallenges = 32;
constexpr size_t kMaxParams = 64;

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}
bool is_token68_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || (c != 0 && std::strchr("-._~+/", c) != nullptr);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A cursor over the header value.
struct Cursor {
  std::string_view s;
  size_t p = 0;

  bool end() const { return p >= s.size(); }
  char peek() const { return end() ? '\0' : s[p]; }
  void skip_ws() {
    while (!end() && (s[p] == ' ' || s[p] == '\t')) ++p;
  }
  void skip_ws_commas() {
    while (!end() && (s[p] == ' ' || s[p] == '\t' || s[p] == ',')) ++p;
  }
  std::string token() {
    size_t b = p;
    while (!end() && is_tchar(s[p])) ++p;
    return std::string(s.substr(b, p - b));
  }
  // Moves past the next comma (or to the end): recovery from a malformed element.
  void skip_element() {
    while (!end() && s[p] != ',') ++p;
  }
};

// A token68 at the cursor, consumed when it is one: its chars, then '='s, then the end of
// the element (end or comma). `realm=x` is not one (a value follows the '=').
bool read_token68(Cursor& c, std::string& out) {
  size_t b = c.p, q = c.p;
  while (q < c.s.size() && is_token68_char(c.s[q])) ++q;
  if (q == b) return false;
  while (q < c.s.size() && c.s[q] == '=') ++q;
  size_t e = q;
  while (q < c.s.size() && (c.s[q] == ' ' || c.s[q] == '\t')) ++q;
  if (q < c.s.size() && c.s[q] != ',') return false;
  out = std::string(c.s.substr(b, e - b));
  c.p = q;
  return true;
}

// A quoted-string (cursor on the opening quote). False when it is not terminated.
bool read_quoted(Cursor& c, std::string& out) {
  ++c.p;
  while (!c.end()) {
    char ch = c.s[c.p++];
    if (ch == '"') return true;
    if (ch == '\\') {
      if (c.end()) return false;
      ch = c.s[c.p++];
    }
    out.push_back(ch);
  }
  return false;
}

enum class ParamResult { param, next_challenge, malformed, fatal };

// One auth-param at the cursor (after OWS and commas were skipped).
ParamResult read_param(Cursor& c, std::string& name, std::string& value) {
  size_t start = c.p;
  name = lower(c.token());
  if (name.empty()) return ParamResult::malformed;
  c.skip_ws();
  if (c.peek() != '=') {
    c.p = start;  // a scheme: the next challenge starts here
    return ParamResult::next_challenge;
  }
  ++c.p;
  c.skip_ws();
  value.clear();
  if (c.peek() == '"') return read_quoted(c, value) ? ParamResult::param : ParamResult::fatal;
  size_t b = c.p;
  while (!c.end() && c.s[c.p] != ',' && c.s[c.p] != ' ' && c.s[c.p] != '\t') ++c.p;
  value = std::string(c.s.substr(b, c.p - b));
  return ParamResult::param;
}

// The params of one challenge; returns false when parsing must stop (unterminated quote).
bool read_params(Cursor& c, Challenge& ch) {
  for (;;) {
    c.skip_ws_commas();
    if (c.end()) return true;
    std::string name, value;
    switch (read_param(c, name, value)) {
      case ParamResult::next_challenge:
        return true;
      case ParamResult::fatal:
        return false;
      case ParamResult::malformed:
        ++c.p;
        c.skip_element();
        continue;
      case ParamResult::param:
        if (ch.params.size() < kMaxParams) ch.params.emplace(name, value);  // the first one wins
        c.skip_ws();
        if (!c.end() && c.peek() != ',') c.skip_element();  // junk after a value
        continue;
    }
  }
}

}  // namespace

std::string Challenge::param(const std::string& name) const {
  auto it = params.find(lower(name));
  return it == params.end() ? std::string() : it->second;
}

std::vector<Challenge> parse_challenges(std::string_view header) {
  std::vector<Challenge> out;
  Cursor c{header};
  while (out.size() < kMaxChallenges) {
    c.skip_ws_commas();
    if (c.end()) break;
    Challenge ch;
    ch.scheme = lower(c.token());
    if (ch.scheme.empty()) {  // not a scheme: skip this element
      ++c.p;
      c.skip_element();
      continue;
    }
    c.skip_ws();
    bool go_on = read_token68(c, ch.token68) || read_params(c, ch);
    out.push_back(std::move(ch));
    if (!go_on) break;
  }
  return out;
}

std::vector<Challenge> response_challenges(const http::Response& resp) {
  std::vector<Challenge> out;
  for (const auto& [name, value] : resp.headers) {
    if (lower(name) != "www-authenticate") continue;
    for (auto& ch : parse_challenges(value)) out.push_back(std::move(ch));
  }
  return out;
}

std::optional<Challenge> find_challenge(const std::vector<Challenge>& cs, std::string_view scheme) {
  auto want = lower(std::string(scheme));
  for (const auto& ch : cs)
    if (ch.scheme == want) return ch;
  return std::nullopt;
}

}  // namespace ksimg::registry
