// Unit tests for the Authenticator (src/registry/auth.cpp, token.cpp; base64 is oci/base64.cpp): the
// scheme learnt from 401 challenges, Basic (RFC 7617), the distribution token flow against an
// in-process cpp-httplib token server (service, scope, account, Basic to the realm), scope
// merging, refresh at 80 % of expires_in with an injected clock, Harbor's Basic answer to an
// expired token, host scoping of credentials, clear refusals, and four threads sharing it.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "oci/base64.hpp"
#include "registry/auth.hpp"
#include "registry/token.hpp"

using namespace ksimg;
using registry::Credential;
using Clock = std::chrono::steady_clock;

namespace {

const Credential kRobot{"robot$proj+ci", "pa:ss w0rd", false};
const std::string kReg = "reg.example:5000";

// A token server (distribution token spec) on 127.0.0.1 at an ephemeral port.
struct TokenServer {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  std::mutex mu;
  int count = 0;
  std::string expected_basic;  // when set, requests without it get 401
  std::string token_key = "token";
  std::optional<int> expires_in;
  std::vector<std::string> accounts, services, auths;
  std::vector<std::vector<std::string>> scopes;
  std::string refresh_token = "rt-1";  // the POST grant accepts this one, then issues rt-<n>
  std::vector<std::string> posted;     // form bodies of POST /token

  TokenServer() {
    svr.Post("/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu);
      posted.push_back(req.body);
      if (req.get_param_value("grant_type") != "refresh_token" ||
          req.get_param_value("refresh_token") != refresh_token || req.has_header("Authorization")) {
        res.status = 401;
        return;
      }
      ++count;
      scopes.push_back({req.get_param_value("scope")});
      refresh_token = "rt-" + std::to_string(count + 1);
      nlohmann::json j{{"access_token", "tok-" + std::to_string(count)}, {"refresh_token", refresh_token}};
      res.set_content(j.dump(), "application/json");
    });
    svr.Get("/token", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu);
      std::string auth = req.has_header("Authorization") ? req.get_header_value("Authorization") : "";
      auths.push_back(auth);
      if (!expected_basic.empty() && auth != expected_basic) {
        res.status = 401;
        return;
      }
      ++count;
      accounts.push_back(req.get_param_value("account"));
      services.push_back(req.get_param_value("service"));
      std::vector<std::string> sc;
      for (size_t i = 0; i < req.get_param_value_count("scope"); ++i)
        sc.push_back(req.get_param_value("scope", i));
      scopes.push_back(sc);
      nlohmann::json j{{token_key, "tok-" + std::to_string(count)}};
      if (expires_in) j["expires_in"] = *expires_in;
      res.set_content(j.dump(), "application/json");
    });
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TokenServer() {
    svr.stop();
    th.join();
  }
  std::string realm() const { return "http://127.0.0.1:" + std::to_string(port) + "/token"; }
};

// A fake clock the tests move by hand.
struct FakeClock {
  std::shared_ptr<Clock::time_point> t = std::make_shared<Clock::time_point>(Clock::now());
  std::function<Clock::time_point()> fn() const {
    auto p = t;
    return [p] { return *p; };
  }
  void advance(std::chrono::milliseconds d) { *t += d; }
};

std::unique_ptr<registry::Authenticator> make(std::optional<Credential> cred, const FakeClock& clock,
                                              const std::string& reg = kReg) {
  registry::AuthOptions o{reg, cred, {}};
  return registry::make_authenticator(o, registry::AuthHooks{nullptr, clock.fn()});
}

http::Response unauthorized(const std::string& challenge,
                            const std::string& url = "http://" + kReg + "/v2/") {
  http::Response r;
  r.status = 401;
  r.url = url;
  r.headers = {{"www-authenticate", challenge}};
  return r;
}

std::string bearer(const TokenServer& s, const std::string& extra = "") {
  return "Bearer realm=\"" + s.realm() + "\",service=\"reg.example\"" + extra;
}

// The Authorization header authorize() puts on a request to `url`, or "none".
std::string auth_for(registry::Authenticator& a, const std::string& scope,
                     const std::string& url = "http://" + kReg + "/v2/ns/k/manifests/x") {
  http::Request r;
  r.url = url;
  a.authorize(r, scope);
  for (const auto& [k, v] : r.headers)
    if (k == "Authorization") return v;
  return "none";
}

const std::string kPush = "repository:ns/k:pull,push";
const std::string kPull = "repository:ns/k:pull";

}  // namespace

TEST_CASE("auth: nothing sent before a challenge, then Basic (RFC 7617) with a robot name") {
  FakeClock c;
  auto a = make(kRobot, c);
  CHECK(auth_for(*a, kPull) == "none");
  CHECK(a->on_unauthorized(unauthorized("Basic realm=\"Registry Realm\""), kPull));
  std::string h = auth_for(*a, kPull);
  REQUIRE(h.rfind("Basic ", 0) == 0);
  CHECK(oci::base64_decode(h.substr(6)) == "robot$proj+ci:pa:ss w0rd");
  // The same credentials refused again: no point retrying.
  CHECK_FALSE(a->on_unauthorized(unauthorized("Basic realm=\"Registry Realm\""), kPull));
  // Never to another host, port or a look-alike.
  CHECK(auth_for(*a, kPull, "http://evil.example/v2/") == "none");
  CHECK(auth_for(*a, kPull, "http://reg.example:5001/v2/") == "none");
  CHECK(auth_for(*a, kPull, "http://reg.example:5000.evil.example/v2/") == "none");
  CHECK(auth_for(*a, kPull, "http://evil.example/?u=http://reg.example:5000/") == "none");
  // A 401 from another host (a redirect target) is not ours to answer.
  CHECK_FALSE(a->on_unauthorized(unauthorized("Basic realm=\"x\"", "http://evil.example/v2/"), kPull));
}

TEST_CASE("auth: Basic challenge without credentials, and a 401 without a challenge") {
  FakeClock c;
  auto a = make(std::nullopt, c);
  CHECK_FALSE(a->on_unauthorized(unauthorized("Basic realm=\"r\""), kPull));
  CHECK(auth_for(*a, kPull) == "none");
  auto b = make(kRobot, c);
  CHECK_FALSE(b->on_unauthorized(unauthorized(""), kPull));
  CHECK_FALSE(b->on_unauthorized(unauthorized("Bearer service=\"no realm\""), kPull));
  CHECK_FALSE(b->on_unauthorized(unauthorized("Bearer realm=\"ftp://x/token\""), kPull));
}

TEST_CASE("auth: registry names with and without ports match default ports only") {
  CHECK(registry::token::on_registry("https://reg.example/v2/", "reg.example"));
  CHECK(registry::token::on_registry("https://REG.example:443/v2/", "reg.example"));
  CHECK(registry::token::on_registry("http://reg.example/v2/", "reg.example"));
  CHECK_FALSE(registry::token::on_registry("https://reg.example:5000/v2/", "reg.example"));
  CHECK(registry::token::on_registry("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
  CHECK(registry::token::on_registry("http://[::1]:5000/v2/", "[::1]:5000"));
  CHECK_FALSE(registry::token::on_registry("http://[::1]:5001/v2/", "[::1]:5000"));
  CHECK_FALSE(registry::token::on_registry("not a url", "reg.example"));
}

TEST_CASE("auth: Bearer token flow sends service, scope, account and Basic to the realm") {
  TokenServer s;
  s.expected_basic = "Basic " + oci::base64_encode("robot$proj+ci:pa:ss w0rd");
  FakeClock c;
  auto a = make(kRobot, c);
  CHECK(auth_for(*a, kPush) == "none");
  CHECK(a->on_unauthorized(unauthorized(bearer(s, ",scope=\"" + kPush + "\"")), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  REQUIRE(s.count == 1);
  CHECK(s.accounts[0] == "robot$proj+ci");  // '$' and '+' survived URL encoding
  CHECK(s.services[0] == "reg.example");
  CHECK(s.scopes[0] == std::vector<std::string>{kPush});
  CHECK(registry::token::url_encode("robot$p+n a/b") == "robot%24p%2Bn%20a%2Fb");
  // The cached token is reused.
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  CHECK(s.count == 1);
}

TEST_CASE("auth: anonymous tokens, access_token replies, and tokens without scope (/v2/)") {
  TokenServer s;
  s.token_key = "access_token";
  FakeClock c;
  auto a = make(std::nullopt, c);
  CHECK(a->on_unauthorized(unauthorized(bearer(s)), ""));
  CHECK(auth_for(*a, "", "http://" + kReg + "/v2/") == "Bearer tok-1");
  CHECK(s.auths[0].empty());     // no credentials: no Authorization to the realm
  CHECK(s.accounts[0].empty());  // and no account
  CHECK(s.scopes[0].empty());
}

TEST_CASE("auth: scopes are merged per repository, one token per scope set") {
  TokenServer s;
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPull));
  CHECK(auth_for(*a, kPull) == "Bearer tok-1");
  CHECK(auth_for(*a, kPush) == "Bearer tok-2");  // push needs a new token...
  CHECK(s.scopes[1] == std::vector<std::string>{kPush});
  CHECK(auth_for(*a, kPull) == "Bearer tok-2");  // ...which then serves pull too
  CHECK(auth_for(*a, "repository:ns/other:pull") == "Bearer tok-3");
  // A cross-repository mount asks for two repositories at once.
  CHECK(auth_for(*a, "repository:ns/b:pull,push repository:ns/k:pull") == "Bearer tok-4");
  CHECK(s.scopes[3] == std::vector<std::string>{"repository:ns/b:pull,push", kPush});
  CHECK(s.count == 4);
}

TEST_CASE("auth: tokens are refreshed at 80 percent of expires_in, 60 s when absent") {
  TokenServer s;
  s.expires_in = 100;
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  c.advance(std::chrono::seconds(79));
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  c.advance(std::chrono::seconds(2));
  CHECK(auth_for(*a, kPush) == "Bearer tok-2");
  s.expires_in.reset();  // default 60 s: refreshed after 48 s
  c.advance(std::chrono::seconds(81));
  CHECK(auth_for(*a, kPush) == "Bearer tok-3");
  c.advance(std::chrono::seconds(47));
  CHECK(auth_for(*a, kPush) == "Bearer tok-3");
  c.advance(std::chrono::seconds(2));
  CHECK(auth_for(*a, kPush) == "Bearer tok-4");
}

TEST_CASE("auth: a 401 of any scheme drops the token - Harbor Basic answer refetches, never switches") {
  TokenServer s;
  s.expires_in = 1800;
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  c.advance(std::chrono::seconds(30));
  CHECK(a->on_unauthorized(unauthorized("Basic realm=\"harbor\""), kPush));  // Harbor: expired token
  CHECK(auth_for(*a, kPush) == "Bearer tok-2");                              // from the cached realm
  c.advance(std::chrono::seconds(30));
  CHECK(a->on_unauthorized(unauthorized(bearer(s, ",error=\"invalid_token\"")), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-3");
  // A token refused right after it was issued: retrying cannot help...
  CHECK_FALSE(a->on_unauthorized(unauthorized(bearer(s, ",error=\"insufficient_scope\"")), kPush));
  // ...unless the challenge names a scope we did not ask for.
  CHECK(auth_for(*a, kPush) == "Bearer tok-4");
  CHECK(a->on_unauthorized(unauthorized(bearer(s, ",scope=\"repository:ns/base:pull\"")), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-5");
  CHECK(s.scopes[4] == std::vector<std::string>{"repository:ns/base:pull", kPush});
}

TEST_CASE("auth: identity tokens use the OAuth2 refresh-token POST, and the new refresh token") {
  TokenServer s;
  s.expires_in = 100;
  FakeClock c;
  auto a = make(Credential{"me", "rt-1", true}, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPush));
  CHECK(auth_for(*a, kPush) == "Bearer tok-1");
  REQUIRE(s.posted.size() == 1);
  CHECK(s.posted[0].find("grant_type=refresh_token") != std::string::npos);
  CHECK(s.posted[0].find("client_id=ksimg") != std::string::npos);
  CHECK(s.posted[0].find("service=reg.example") != std::string::npos);
  CHECK(s.scopes[0] == std::vector<std::string>{kPush});
  c.advance(std::chrono::seconds(90));
  CHECK(auth_for(*a, kPush) == "Bearer tok-2");  // refreshed with rt-2, the server's new one
  CHECK(s.posted[1].find("refresh_token=rt-2") != std::string::npos);
  CHECK(s.auths.empty());  // no GET, no Basic
  auto bad = make(Credential{"me", "revoked", true}, c);
  REQUIRE(bad->on_unauthorized(unauthorized(bearer(s)), kPush));
  CHECK_THROWS_WITH_AS(auth_for(*bad, kPush), doctest::Contains("ksimg login"), RuntimeError);
}

TEST_CASE("auth: refusals by the token server are clear and never show the secret") {
  TokenServer s;
  s.expected_basic = "Basic " + oci::base64_encode("robot$proj+ci:right");
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPush));
  try {
    auth_for(*a, kPush);
    FAIL("no error");
  } catch (const RuntimeError& e) {
    std::string m = e.what();
    CHECK(m.find("rejected the credentials of 'robot$proj+ci'") != std::string::npos);
    CHECK(m.find("ksimg login " + kReg) != std::string::npos);
    CHECK(m.find("pa:ss") == std::string::npos);
  }
  auto anon = make(std::nullopt, c);
  REQUIRE(anon->on_unauthorized(unauthorized(bearer(s)), kPush));
  CHECK_THROWS_WITH_AS(auth_for(*anon, kPush), doctest::Contains("refused anonymous access"), RuntimeError);
}

TEST_CASE("auth: credentials never go to a plain-http realm of an https registry") {
  TokenServer s;
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s), "https://" + kReg + "/v2/"), kPush));
  CHECK_THROWS_WITH_AS(auth_for(*a, kPush, "https://" + kReg + "/v2/"), doctest::Contains("plain http"),
                       RuntimeError);
  CHECK(s.auths.empty());
}

TEST_CASE("auth: token replies without a token are errors") {
  CHECK_THROWS_AS(registry::token::parse_reply("{}", "r"), RuntimeError);
  CHECK_THROWS_AS(registry::token::parse_reply("[1]", "r"), RuntimeError);
  CHECK_THROWS_AS(registry::token::parse_reply("not json", "r"), RuntimeError);
  auto r = registry::token::parse_reply(R"({"token":"a","access_token":"b","expires_in":-5})", "r");
  CHECK(r.token == "a");
  CHECK(r.expires_in == std::chrono::seconds(60));
}

TEST_CASE("auth: four threads share one Authenticator and one token") {
  TokenServer s;
  FakeClock c;
  auto a = make(kRobot, c);
  REQUIRE(a->on_unauthorized(unauthorized(bearer(s)), kPush));
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      for (int k = 0; k < 50; ++k) good += auth_for(*a, kPush) == "Bearer tok-1";
    });
  for (auto& t : ts) t.join();
  CHECK(good == 200);
  CHECK(s.count == 1);
}

TEST_CASE("auth: base64 round trip and rejects") {
  for (std::string x : {"", "a", "ab", "abc", "abcd", "robot$p+n:s3cr:t\xff"})
    CHECK(oci::base64_decode(oci::base64_encode(x)) == x);
  CHECK(oci::base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK_FALSE(oci::base64_decode("abc").has_value());
  CHECK_FALSE(oci::base64_decode("ab=c").has_value());
  CHECK_FALSE(oci::base64_decode("a===").has_value());
  CHECK_FALSE(oci::base64_decode("ab c").has_value());
}
