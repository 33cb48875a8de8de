// The distribution client's connection layer (OCI distribution-spec v1.1 §"API"): one
// Registry per host (base URL found by pinging /v2/, the Authenticator, retry policy) and one
// Session per thread (its own http::Transport, which is not thread-safe but reuses its
// connections). Every request is authorized for a scope; a 401 goes to the Authenticator and
// the request is sent once more when it says so. Transient failures are retried with
// http::with_retry (backoff with jitter, Retry-After).
#pragma once
#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/fetch.hpp"
#include "http/transport.hpp"
#include "registry/auth.hpp"

namespace ksimg::registry {

struct RegistryOptions {
  std::string registry;  // "host[:port]"
  bool tls_verify = true;
  std::optional<std::filesystem::path> ca_file;
  std::optional<Credential> credential;
  http::RetryPolicy retry;
};

class Session;

class Registry {
 public:
  explicit Registry(RegistryOptions o);
  const std::string& name() const { return o_.registry; }
  // "https://host:port" or, for loopback hosts and --tls-verify=false registries that do not
  // speak TLS, "http://host:port". Set by ping().
  const std::string& base_url() const { return base_; }
  // GET /v2/ (end-1): finds the scheme and checks that this is a registry. RuntimeError when not.
  void ping();
  std::unique_ptr<Session> session();
  // The session of worker thread `w` (created on first use, kept so connections are reused
  // across images). Each worker must use only its own.
  Session& worker_session(size_t w);
  Authenticator& auth() { return *auth_; }
  const RegistryOptions& options() const { return o_; }
  http::Options http_options() const;

 private:
  std::optional<http::Response> probe(http::Transport& t, bool once);
  RegistryOptions o_;
  std::string base_;
  std::unique_ptr<Authenticator> auth_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Session>> workers_;
};

class Session {
 public:
  explicit Session(Registry& r);
  Registry& registry() { return r_; }
  // "<base>/v2/<repository>/<suffix>"
  std::string url(const std::string& repository, const std::string& suffix) const;
  // One request, authorized for `scope`; on 401 asks the Authenticator and sends once more.
  // Throws RuntimeError "REG: authentication required or refused; run 'ksimg login REG'"
  // when the registry still refuses.
  http::Response send(const http::Request& req, const std::string& scope, const http::Sink& sink = {});
  // send() under the registry's retry policy; `make` builds the request for each try.
  http::Response send_retry(const std::function<http::Request()>& make, const std::string& scope,
                            const http::Sink& sink = {});
  // Like http::with_retry over a whole multi-request step.
  http::Response retry(const std::function<http::Response()>& attempt);
  // Throws RuntimeError naming the registry, the request and the registry's error codes.
  [[noreturn]] void fail(const http::Request& req, const http::Response& resp, const std::string& what = "");

 private:
  Registry& r_;
  std::unique_ptr<http::Transport> t_;
};

// "<code>: <message>" of a distribution error body ({"errors":[{code,message}]}), "" if none.
std::string registry_errors(const std::string& body);

}  // namespace ksimg::registry
