// Registry authentication: the seam between the distribution client (client.*) and the
// auth code (auth.cpp, credentials.*, challenge.*). The client asks an Authenticator to
// authorize each request for a scope and reports every 401 back to it; the Authenticator
// owns challenges (WWW-Authenticate, RFC 9110 §11.6.1), Basic (RFC 7617) and the Bearer
// token flow of the distribution token spec, token caching and refresh.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/transport.hpp"

namespace ksimg::registry {

// A credential for one registry. `secret` is a password, a robot token or an identity
// token; it is never printed, logged, put in an error message or on a command line.
struct Credential {
  std::string username;
  std::string secret;
  bool identity_token = false;  // secret is an OAuth2 refresh token (docker "identitytoken")
};

// Scope strings as the token spec writes them: "repository:ns/kernelsmith:pull,push".
// Several scopes go in one string separated by spaces (a cross-repository mount needs
// "repository:ns/b:pull,push repository:ns/a:pull"); each becomes one `scope=` parameter.
std::string repository_scope(const std::string& repository, bool push);

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Adds Authorization to `req` (a request to the registry for `scope`), fetching or
  // refreshing a token first when one is needed or about to expire. Thread-safe.
  virtual void authorize(http::Request& req, const std::string& scope) = 0;
  // Called with every 401 the registry answers (whatever its scheme). Learns the challenge,
  // drops any cached token for `scope`, and returns true when a retry with fresh
  // authorization can succeed; false when it cannot (no or rejected credentials): the
  // caller then fails with a message naming the registry and `ksimg login`.
  virtual bool on_unauthorized(const http::Response& resp, const std::string& scope) = 0;
};

struct AuthOptions {
  std::string registry;                  // "host[:port]" as written in the image reference
  std::optional<Credential> credential;  // none: anonymous (tokens are still fetched anonymously)
  http::Options http;                    // for token requests (CA file, TLS settings)
};

std::unique_ptr<Authenticator> make_authenticator(const AuthOptions& opts);

// Tests: the transport token requests go through (default: make_transport(opts.http)) and
// the clock token lifetimes are measured with (default: steady_clock::now).
struct AuthHooks {
  std::shared_ptr<http::Transport> transport;
  std::function<std::chrono::steady_clock::time_point()> now;
};
std::unique_ptr<Authenticator> make_authenticator(const AuthOptions& opts, AuthHooks hooks);

}  // namespace ksimg::registry
