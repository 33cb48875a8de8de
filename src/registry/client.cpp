// Registry connection and request plumbing (see client.hpp): distribution-spec v1.1 end-1
// (GET /v2/ to discover the API and the auth challenge), the error body format ("Error
// Codes"), and the retry rules of http::with_retry (RFC 9110 §15.5.9, §15.6, §10.2.3).
#include "registry/client.hpp"

#include <nlohmann/json.hpp>

#include "registry/reference.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::registry {

namespace {

std::string auth_failure(const std::string& reg) {
  return reg + ": authentication required or refused; run 'ksimg login " + reg + "'";
}

}  // namespace

std::string registry_errors(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("errors") || !j["errors"].is_array()) return "";
  std::string out;
  for (const auto& e : j["errors"]) {
    if (!e.is_object()) continue;
    std::string code = e.value("code", ""), msg = e.value("message", "");
    out += (out.empty() ? "" : "; ") + code + (msg.empty() ? "" : ": " + msg);
  }
  return out;
}

Registry::Registry(RegistryOptions o) : o_(std::move(o)) {
  validate_registry_host(o_.registry);
  base_ = "https://" + o_.registry;
  if (!o_.tls_verify)
    log::warn("TLS verification is off for " + o_.registry +
              " (--tls-verify=false): anyone on the path can "
              "read and change what is sent");
  auth_ = make_authenticator(AuthOptions{o_.registry, o_.credential, http_options()});
}

http::Options Registry::http_options() const {
  http::Options h;
  h.ca_file = o_.ca_file;
  h.tls_verify = o_.tls_verify;
  return h;
}

std::unique_ptr<Session> Registry::session() {
  return std::make_unique<Session>(*this);
}

Session& Registry::worker_session(size_t w) {
  std::lock_guard lk(mu_);
  if (workers_.size() <= w) workers_.resize(w + 1);
  if (!workers_[w]) workers_[w] = session();
  return *workers_[w];
}

// GET /v2/ without authorization: 200 or 401 both mean "a registry"; a 401 teaches the
// authenticator the challenge (its answer does not matter yet).
std::optional<http::Response> Registry::probe(http::Transport& t, bool once) {
  http::Request req;
  req.url = base_ + "/v2/";
  http::RetryPolicy p = o_.retry;
  if (once) p.attempts = 1;
  http::Response r = http::with_retry([&] { return t.send(req); }, p);
  if (r.status == 401) auth_->on_unauthorized(r, "");
  if (r.status != 200 && r.status != 401) {
    std::string msg = o_.registry + ": GET " + req.url + ": HTTP " + std::to_string(r.status) +
                      "; this does not look like an OCI registry (GET /v2/ must answer 200 or 401)";
    throw http::StatusError(msg, r.status);
  }
  return r;
}

void Registry::ping() {
  auto t = http::make_transport(http_options());
  if (is_loopback(o_.registry) || !o_.tls_verify) {
    try {
      probe(*t, true);
      return;
    } catch (const http::NetworkError& e) {  // TLS or connect failure only: an auth error must not be hidden
      log::debug("https to " + o_.registry + " failed (" + e.what() + "); using plain http");
      base_ = "http://" + o_.registry;
    }
  }
  try {
    probe(*t, false);
  } catch (const http::NetworkError& e) {
    throw RuntimeError(o_.registry + ": cannot reach the registry (" + e.what() +
                       "); is it running and is the address right?");
  }
  log::debug(o_.registry + ": registry API at " + base_ + "/v2/");
  if (o_.credential) {  // check the credential now (ksimg login relies on it); anonymous: per scope later
    http::Request req;
    req.url = base_ + "/v2/";
    auto r = session()->send_retry([&] { return req; }, "");
    if (r.status != 200) session()->fail(req, r, "GET /v2/ with credentials must answer 200");
  }
}

Session::Session(Registry& r) : r_(r), t_(http::make_transport(r.http_options())) {}

std::string Session::url(const std::string& repository, const std::string& suffix) const {
  return r_.base_url() + "/v2/" + repository + "/" + suffix;
}

http::Response Session::send(const http::Request& req, const std::string& scope, const http::Sink& sink) {
  http::Request a = req;
  r_.auth().authorize(a, scope);
  http::Response resp = t_->send(a, sink);
  if (resp.status != 401) return resp;
  if (!r_.auth().on_unauthorized(resp, scope)) throw RuntimeError(auth_failure(r_.name()));
  a = req;
  r_.auth().authorize(a, scope);
  resp = t_->send(a, sink);
  if (resp.status == 401) {
    r_.auth().on_unauthorized(resp, scope);
    throw RuntimeError(auth_failure(r_.name()));
  }
  return resp;
}

http::Response Session::send_retry(const std::function<http::Request()>& make, const std::string& scope,
                                   const http::Sink& sink) {
  return retry([&] { return send(make(), scope, sink); });
}

http::Response Session::retry(const std::function<http::Response()>& attempt) {
  return http::with_retry(attempt, r_.options().retry);
}

void Session::fail(const http::Request& req, const http::Response& resp, const std::string& what) {
  std::string msg = r_.name() + ": " + req.method + " " + req.url + ": HTTP " + std::to_string(resp.status);
  if (!resp.reason.empty()) msg += " " + resp.reason;
  if (auto e = registry_errors(resp.body); !e.empty()) msg += " (" + e + ")";
  if (!what.empty()) msg += "; " + what;
  throw http::StatusError(msg, resp.status);
}

}  // namespace ksimg::registry
