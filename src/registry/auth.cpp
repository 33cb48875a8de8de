// Registry authentication (auth.hpp): anonymous, Basic (RFC 7617) and the distribution token
// flow (distribution docs/spec/auth/token.md). The scheme is learnt from the registry's
// WWW-Authenticate challenges (RFC 9110 §11.6.1): nothing is sent until the first 401.
// Bearer tokens are cached per merged scope set, refreshed at 80 % of `expires_in` and again
// after any 401 whatever its scheme: Harbor answers an expired token with a Basic challenge,
// so once a registry has offered Bearer a Basic 401 means "fetch a new token", not "switch to
// Basic". Identity tokens (docker's "identitytoken") are exchanged with the OAuth2
// refresh-token POST (token spec, oauth.md). Credentials go only to the registry's host and
// to the token realm it names.
#include "registry/auth.hpp"

#include <map>
#include <mutex>
#include <thread>

#include "http/fetch.hpp"
#include "oci/base64.hpp"
#include "registry/challenge.hpp"
#include "registry/token.hpp"
#include "util/log.hpp"

namespace ksimg::registry {

std::string repository_scope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":pull,push" : ":pull");
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kFresh = std::chrono::seconds(2);  // a token refused this young: retrying cannot help

enum class Mode { unknown, basic, bearer };
enum class Sent { none, basic, bearer };

struct Token {
  std::string value;
  Clock::time_point fetched;
  std::chrono::seconds lifetime{60};
  bool usable(Clock::time_point now) const {
    return now < fetched + std::chrono::milliseconds(lifetime) * 4 / 5;
  }
};

// What authorize() last put on a request of this thread; on_unauthorized() judges the 401 by it.
struct LastSent {
  Sent kind = Sent::none;
  std::string key, token;
  Clock::time_point fetched;
};

std::string scheme_of(const std::string& url) {
  return url.substr(0, url.find("://"));
}

class RegistryAuth final : public Authenticator {
 public:
  RegistryAuth(AuthOptions o, AuthHooks h) : o_(std::move(o)), h_(std::move(h)) {
    if (o_.credential && o_.credential->identity_token) refresh_token_ = o_.credential->secret;
    if (!h_.transport) h_.transport = http::make_transport(o_.http);
    if (!h_.now) h_.now = [] { return Clock::now(); };
  }

  void authorize(http::Request& req, const std::string& scope) override {
    std::lock_guard lk(mu_);
    auto& sent = sent_[std::this_thread::get_id()];
    sent = {};
    if (!token::on_registry(req.url, o_.registry)) return;  // never leak to another host
    if (mode_ == Mode::basic && o_.credential) {
      req.headers.emplace_back("Authorization", basic_header());
      sent.kind = Sent::basic;
    } else if (mode_ == Mode::bearer) {
      auto [key, scopes] = key_for(scope);
      const Token& t = token_for(key, scopes);
      req.headers.emplace_back("Authorization", "Bearer " + t.value);
      sent = {Sent::bearer, key, t.value, t.fetched};
    }
  }

  bool on_unauthorized(const http::Response& resp, const std::string& scope) override {
    std::lock_guard lk(mu_);
    LastSent sent;
    if (auto it = sent_.find(std::this_thread::get_id()); it != sent_.end()) {
      sent = it->second;
      sent_.erase(it);
    }
    if (!token::on_registry(resp.url, o_.registry)) return false;
    auto cs = response_challenges(resp);
    auto bearer = find_challenge(cs, "bearer");
    if (bearer && learn_bearer(*bearer, resp.url)) return bearer_retry(&*bearer, scope, sent);
    if (mode_ == Mode::bearer) return bearer_retry(nullptr, scope, sent);  // Harbor's Basic answer
    if (find_challenge(cs, "basic")) {
      mode_ = Mode::basic;
      return o_.credential.has_value() && sent.kind != Sent::basic;
    }
    return false;
  }

 private:
  std::string basic_header() const {
    return "Basic " + oci::base64_encode(o_.credential->username + ":" + o_.credential->secret);
  }

  bool learn_bearer(const Challenge& ch, const std::string& url) {
    std::string realm = ch.param("realm");
    try {
      http::origin(realm);
    } catch (const UsageError&) {
      log::warn("registry " + o_.registry +
                ": ignoring a Bearer challenge whose realm is not an http(s) URL");
      return false;
    }
    if (realm != realm_ || ch.param("service") != service_) tokens_.clear();
    realm_ = realm;
    service_ = ch.param("service");
    registry_scheme_ = scheme_of(url);
    mode_ = Mode::bearer;
    return true;
  }

  bool bearer_retry(const Challenge* ch, const std::string& scope, const LastSent& sent) {
    bool grew = ch && token::merge_scopes(extra_[scope], token::parse_scopes(ch->param("scope")));
    if (sent.kind != Sent::bearer) return true;
    auto it = tokens_.find(sent.key);
    if (it != tokens_.end() && it->second.value == sent.token) tokens_.erase(it);
    return grew || h_.now() - sent.fetched >= kFresh;
  }

  // The cache key and scopes for a request's scope: its resources with every action asked for
  // them so far (so pull after push reuses the push+pull token), plus what challenges added.
  std::pair<std::string, token::Scopes> key_for(const std::string& scope) {
    auto asked = token::parse_scopes(scope);
    if (auto it = extra_.find(scope); it != extra_.end()) token::merge_scopes(asked, it->second);
    token::merge_scopes(wanted_, asked);
    token::Scopes scopes;
    for (const auto& [res, _] : asked) scopes[res] = wanted_[res];
    std::string key;
    for (const auto& s : token::format_scopes(scopes)) key += (key.empty() ? "" : " ") + s;
    return {key, scopes};
  }

  const Token& token_for(const std::string& key, const token::Scopes& scopes) {
    auto it = tokens_.find(key);
    if (it != tokens_.end() && it->second.usable(h_.now())) return it->second;
    Token t = fetch(scopes);
    return tokens_[key] = std::move(t);
  }

  // The token spec's GET (Basic credentials when we have them), or for an identity token the
  // OAuth2 refresh-token POST (token spec, oauth.md).
  http::Request token_request(const token::Scopes& scopes) const {
    const auto& cred = o_.credential;
    http::Request req;
    req.max_bytes = 1 << 20;
    if (cred && cred->identity_token) {
      req.method = "POST";
      req.url = realm_;
      req.body = http::Body::bytes(token::refresh_form(service_, scopes, refresh_token_),
                                   "application/x-www-form-urlencoded");
      return req;
    }
    req.url = token::request_url(realm_, service_, scopes, cred ? cred->username : "");
    if (cred) req.headers.emplace_back("Authorization", basic_header());
    return req;
  }

  Token fetch(const token::Scopes& scopes) {
    const auto& cred = o_.credential;
    if (cred && scheme_of(realm_) == "http" && registry_scheme_ == "https")
      throw RuntimeError("registry " + o_.registry + ": its token realm " + realm_ +
                         " is plain http while the registry uses https; refusing to send credentials there");
    http::Request req = token_request(scopes);
    log::debug("registry " + o_.registry + ": token request (" + req.method + ") to " + realm_);
    auto resp = http::with_retry([&] { return h_.transport->send(req); });
    if (resp.status == 401 || resp.status == 403) refused(resp.status);
    if (req.method == "POST" && (resp.status == 404 || resp.status == 405))
      throw RuntimeError("registry " + o_.registry + ": token server " + realm_ +
                         " does not take identity tokens (OAuth2 POST: HTTP " + std::to_string(resp.status) +
                         "); run `ksimg login " + o_.registry + "` with a user name and password");
    if (!resp.ok())
      throw RuntimeError("registry " + o_.registry + ": token server " + realm_ + " answered HTTP " +
                         std::to_string(resp.status) + "; retry later or check the registry");
    auto reply = token::parse_reply(resp.body, realm_);
    if (cred && cred->identity_token && !reply.refresh_token.empty()) refresh_token_ = reply.refresh_token;
    return Token{reply.token, h_.now(), reply.expires_in};
  }

  [[noreturn]] void refused(long status) const {
    std::string s = " (HTTP " + std::to_string(status) + " from " + realm_ + ")";
    if (!o_.credential)
      throw RuntimeError("registry " + o_.registry + " refused anonymous access" + s + "; run `ksimg login " +
                         o_.registry + "`");
    throw RuntimeError("registry " + o_.registry + " rejected the credentials of '" +
                       o_.credential->username + "'" + s + "; run `ksimg login " + o_.registry + "`");
  }

  AuthOptions o_;
  AuthHooks h_;
  std::mutex mu_;
  Mode mode_ = Mode::unknown;
  std::string realm_, service_, registry_scheme_;
  std::string refresh_token_;  // an identity token, replaced when the server sends a new one
  token::Scopes wanted_;
  std::map<std::string, token::Scopes> extra_;  // request scope -> scopes its challenges named
  std::map<std::string, Token> tokens_;
  std::map<std::thread::id, LastSent> sent_;
};

}  // namespace

std::unique_ptr<Authenticator> make_authenticator(const AuthOptions& opts) {
  return std::make_unique<RegistryAuth>(opts, AuthHooks{});
}

std::unique_ptr<Authenticator> make_authenticator(const AuthOptions& opts, AuthHooks hooks) {
  return std::make_unique<RegistryAuth>(opts, std::move(hooks));
}

}  // namespace ksimg::registry
