// WWW-Authenticate challenges (RFC 9110 §11.6.1, §11.2): the scheme and its auth-params as
// a registry sends them, e.g. `Bearer realm="https://h/token",service="h",scope="..."`.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/transport.hpp"

namespace ksimg::registry {

struct Challenge {
  std::string scheme;                         // lower-cased: "basic", "bearer", ...
  std::map<std::string, std::string> params;  // names lower-cased, values unquoted
  std::string token68;                        // the token68 form (`Negotiate abc==`), rarely used

  // The parameter's value, or "" when absent.
  std::string param(const std::string& name) const;
};

// Every challenge in one header value (several may share a header, comma-separated).
// Never throws: malformed parts (an unterminated quote, a stray '=') end or skip the
// challenge they belong to; at most 32 challenges and 64 params each are kept.
std::vector<Challenge> parse_challenges(std::string_view header);

// The challenges of every WWW-Authenticate header of a response, in order.
std::vector<Challenge> response_challenges(const http::Response& resp);

// The first challenge of that scheme (case-insensitive), or nullopt.
std::optional<Challenge> find_challenge(const std::vector<Challenge>& cs, std::string_view scheme);

}  // namespace ksimg::registry
