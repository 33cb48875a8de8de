// Pieces of the distribution token flow (docs/spec/auth/token.md, scope.md of
// distribution/distribution) that auth.cpp puts together: scopes and their merging, the
// token request URL, the token response, and whether a URL belongs to the registry.
#pragma once
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::registry::token {

// Resource ("repository:ns/kernelsmith") -> actions ({"pull", "push"}).
using Scopes = std::map<std::string, std::set<std::string>>;

// Space-separated scope strings ("repository:a:pull,push repository:b:pull"); an entry
// without a type and an action ("junk") is ignored.
Scopes parse_scopes(std::string_view s);
// Adds `more` into `into`; true when `into` grew.
bool merge_scopes(Scopes& into, const Scopes& more);
// One "type:name:a,b" string per resource, actions sorted ("pull,push").
std::vector<std::string> format_scopes(const Scopes& s);

// RFC 3986 percent-encoding of everything but unreserved characters (so `robot$p+n`
// becomes `robot%24p%2Bn`).
std::string url_encode(std::string_view s);

// GET realm?service=..&scope=..&scope=..[&account=..] (the token spec's query).
std::string request_url(const std::string& realm, const std::string& service, const Scopes& scopes,
                        const std::string& account);
// The x-www-form-urlencoded body of the OAuth2 refresh-token POST (token spec "oauth.md").
std::string refresh_form(const std::string& service, const Scopes& scopes, const std::string& refresh_token);

struct Reply {
  std::string token;                // "token", else "access_token"
  std::chrono::seconds expires_in;  // default 60 s (token spec)
  std::string refresh_token;        // when the server returned one
};
// Parses a token server answer; throws RuntimeError naming `realm` when it has no token.
Reply parse_reply(const std::string& body, const std::string& realm);

// True when `url` (absolute http/https) is on the registry "host[:port]" (a port left out
// is the scheme's default). IPv6 literals are written "[::1]:5000".
bool on_registry(const std::string& url, const std::string& registry);

}  // namespace ksimg::registry::token
