// ksimg_token_server: a distribution token server (docs/spec/auth/token.md and jwt.md of
// distribution/distribution) for integration tests, with cpp-httplib and OpenSSL. It issues
// RS256 JWTs whose header carries the signing certificate in "x5c": distribution 2.8
// (registry/auth/token/token.go) verifies that chain against the registry's
// `auth: token: rootcertbundle` and checks iss, aud, exp and nbf (60 s leeway) and "access".
// Listens on 127.0.0.1 at an ephemeral port and prints the port as the first line on stdout.
//
//   ksimg_token_server --key KEY.pem --cert CERT.pem [--port N] [--issuer I] [--service S]
//       [--user NAME:PASS]... [--user-file FILE] [--expires SECONDS] [--expires-in SECONDS] [--log FILE]
//       [--harbor-front UPSTREAM_PORT]
//
// GET /token?service=&scope=&account= with Basic credentials of a --user grants every action
// asked; anonymous requests get a token without access (the registry then refuses pushes);
// wrong credentials get 401. --user-file: NAME:PASS lines (keeps passwords out of argv).
// --expires: the token's real lifetime, at least that many seconds and less than one more (exp
// is set 60 s early to cancel the registry's leeway); --expires-in: what the reply's
// expires_in claims (default --expires), so a test can make a token expire before the client
// expects it. --log appends one JSON line per token request (account, scopes, status; never a
// password).
// --harbor-front: also forward every other request to the registry at 127.0.0.1:UPSTREAM_PORT,
// answering a failed request that carried credentials with `Basic realm="harbor"` as Harbor does.
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Config {
  std::string key_file, cert_file, issuer = "ksimg-test-issuer", service = "ksimg-test-registry", log_file;
  std::map<std::string, std::string> users;  // name -> password
  long expires = 300;
  long expires_in = -1;  // -1: same as expires
  int harbor_upstream = 0;
  int port = 0;  // 0: an ephemeral port
};

std::mutex g_mu;
EVP_PKEY* g_key = nullptr;
std::string g_cert_der_b64;

// NAME:PASS lines (so a test's password is not on the command line for ps to show).
bool load_users(const std::string& file, Config& c) {
  std::ifstream in(file);
  if (!in) return false;
  for (std::string line; std::getline(in, line);) {
    auto colon = line.find(':');
    if (colon != std::string::npos) c.users[line.substr(0, colon)] = line.substr(colon + 1);
  }
  return true;
}

bool parse_args(int argc, char** argv, Config& c) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--key")
      c.key_file = v;
    else if (a == "--cert")
      c.cert_file = v;
    else if (a == "--issuer")
      c.issuer = v;
    else if (a == "--service")
      c.service = v;
    else if (a == "--log")
      c.log_file = v;
    else if (a == "--expires")
      c.expires = std::stol(v);
    else if (a == "--expires-in")
      c.expires_in = std::stol(v);
    else if (a == "--user-file" && !load_users(v, c))
      return false;
    else if (a == "--user-file")
      continue;
    else if (a == "--port")
      c.port = std::stoi(v);
    else if (a == "--harbor-front")
      c.harbor_upstream = std::stoi(v);
    else if (a == "--user" && v.find(':') != std::string::npos)
      c.users[v.substr(0, v.find(':'))] = v.substr(v.find(':') + 1);
    else
      return false;
  }
  if (c.expires_in < 0) c.expires_in = c.expires;
  return !c.key_file.empty() && !c.cert_file.empty();
}

std::string b64(const unsigned char* p, size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string b64url(const std::string& s) {
  std::string out = b64(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  for (auto& ch : out) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string b64decode(const std::string& s) {
  std::string out(s.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return {};
  size_t pad = s.size() >= 2 && s[s.size() - 1] == '=' ? (s[s.size() - 2] == '=' ? 2 : 1) : 0;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool load_key_and_cert(const Config& c) {
  FILE* kf = std::fopen(c.key_file.c_str(), "r");
  if (!kf) return false;
  g_key = PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr);
  std::fclose(kf);
  FILE* cf = std::fopen(c.cert_file.c_str(), "r");
  if (!cf || !g_key) return false;
  X509* cert = PEM_read_X509(cf, nullptr, nullptr, nullptr);
  std::fclose(cf);
  if (!cert) return false;
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  X509_free(cert);
  if (n <= 0) return false;
  g_cert_der_b64 = b64(der, static_cast<size_t>(n));
  OPENSSL_free(der);
  return true;
}

std::string sign_rs256(const std::string& data) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, g_key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    return {};
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return {};
  sig.resize(len);
  return sig;
}

// "repository:ns/k:pull,push" -> {"type","name","actions"}; empty when malformed.
json access_entry(const std::string& scope) {
  auto first = scope.find(':'), last = scope.rfind(':');
  if (first == std::string::npos || first == last) return {};
  json actions = json::array();
  std::string acts = scope.substr(last + 1);
  for (size_t p = 0; p <= acts.size();) {
    auto comma = acts.find(',', p);
    if (comma == std::string::npos) comma = acts.size();
    if (comma > p) actions.push_back(acts.substr(p, comma - p));
    p = comma + 1;
  }
  return json{{"type", scope.substr(0, first)},
              {"name", scope.substr(first + 1, last - first - 1)},
              {"actions", actions}};
}

std::string make_jwt(const Config& c, const std::string& account, const std::vector<std::string>& scopes) {
  long now = static_cast<long>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  unsigned char rnd[12];
  RAND_bytes(rnd, sizeof rnd);
  json access = json::array();
  if (!account.empty())
    for (const auto& s : scopes)
      if (auto e = access_entry(s); !e.is_null()) access.push_back(e);
  json header{{"typ", "JWT"}, {"alg", "RS256"}, {"x5c", json::array({g_cert_der_b64})}};
  json claims{{"iss", c.issuer},
              {"sub", account},
              {"aud", c.service},
              {"exp", now + 1 + c.expires - 60},
              {"nbf", now - 61},
              {"iat", now - 61},
              {"jti", b64url(std::string(reinterpret_cast<char*>(rnd), sizeof rnd))},
              {"access", access}};
  std::string signing_input = b64url(header.dump()) + "." + b64url(claims.dump());
  return signing_input + "." + b64url(sign_rs256(signing_input));
}

void log_request(const Config& c, const json& line) {
  if (c.log_file.empty()) return;
  std::ofstream(c.log_file, std::ios::app) << line.dump() << "\n";
}

// The user a Basic header names when its password is right; "" for none; nullopt when wrong.
std::optional<std::string> basic_user(const Config& c, const httplib::Request& req) {
  if (!req.has_header("Authorization")) return std::string();
  std::string h = req.get_header_value("Authorization");
  if (h.rfind("Basic ", 0) != 0) return std::nullopt;
  std::string dec = b64decode(h.substr(6));
  auto colon = dec.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto it = c.users.find(dec.substr(0, colon));
  if (it == c.users.end() || it->second != dec.substr(colon + 1)) return std::nullopt;
  return it->first;
}

void handle_token(const Config& c, const httplib::Request& req, httplib::Response& res) {
  std::lock_guard lk(g_mu);
  std::vector<std::string> scopes;
  for (size_t i = 0; i < req.get_param_value_count("scope"); ++i)
    scopes.push_back(req.get_param_value("scope", i));
  auto user = basic_user(c, req);
  json line{{"account", req.get_param_value("account")},
            {"service", req.get_param_value("service")},
            {"scope", scopes}};
  if (!user || req.get_param_value("service") != c.service) {
    res.status = 401;
    res.set_content(R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})",
                    "application/json");
    line["status"] = 401;
    log_request(c, line);
    return;
  }
  json reply{{"token", make_jwt(c, *user, scopes)}, {"expires_in", c.expires_in}};
  res.set_content(reply.dump(), "application/json");
  line["status"] = 200;
  log_request(c, line);
}

// Forwards a request to the real registry; a 401 to a request with credentials becomes
// Harbor's `Basic realm="harbor"` challenge.
void handle_front(const Config& c, const httplib::Request& req, httplib::Response& res) {
  httplib::Client up("127.0.0.1", c.harbor_upstream);
  httplib::Headers h;
  for (const auto& [k, v] : req.headers)
    if (k != "Content-Length" && k != "REMOTE_ADDR" && k != "REMOTE_PORT" && k != "LOCAL_ADDR" &&
        k != "LOCAL_PORT")
      h.emplace(k, v);
  std::string path = req.target;
  std::string ctype = req.has_header("Content-Type") ? req.get_header_value("Content-Type") : "";
  httplib::Result r = req.method == "GET"      ? up.Get(path, h)
                      : req.method == "HEAD"   ? up.Head(path, h)
                      : req.method == "DELETE" ? up.Delete(path, h)
                      : req.method == "PUT"    ? up.Put(path, h, req.body, ctype)
                      : req.method == "POST"   ? up.Post(path, h, req.body, ctype)
                                               : up.Patch(path, h, req.body, ctype);
  if (!r) {
    res.status = 502;
    return;
  }
  res.status = r->status;
  for (const auto& [k, v] : r->headers)
    if (k != "Content-Length" && k != "Transfer-Encoding" && k != "Connection") res.set_header(k, v);
  if (r->status == 401 && req.has_header("Authorization")) {
    res.headers.erase("Www-Authenticate");
    res.headers.erase("WWW-Authenticate");
    res.set_header("WWW-Authenticate", "Basic realm=\"harbor\"");
    std::lock_guard lk(g_mu);
    log_request(c, json{{"harbor_basic_401", path}});
  }
  res.body = r->body;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (!parse_args(argc, argv, c)) {
    std::cerr
        << "usage: ksimg_token_server --key KEY.pem --cert CERT.pem [--port N] [--issuer I] [--service S] "
           "[--user NAME:PASS]... [--user-file FILE] [--expires S] [--expires-in S] [--log FILE] "
           "[--harbor-front PORT]\n";
    return 2;
  }
  if (!load_key_and_cert(c)) {
    std::cerr << "ksimg_token_server: cannot load " << c.key_file << " / " << c.cert_file << "\n";
    return 1;
  }
  httplib::Server svr;
  svr.Get("/token", [&](const httplib::Request& req, httplib::Response& res) { handle_token(c, req, res); });
  if (c.harbor_upstream > 0) {
    auto front = [&](const httplib::Request& req, httplib::Response& res) { handle_front(c, req, res); };
    svr.Get("/v2/.*", front);
    svr.Put("/v2/.*", front);
    svr.Post("/v2/.*", front);
    svr.Patch("/v2/.*", front);
    svr.Delete("/v2/.*", front);
  }
  int port =
      c.port > 0 ? (svr.bind_to_port("127.0.0.1", c.port) ? c.port : -1) : svr.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    std::cerr << "ksimg_token_server: cannot listen on 127.0.0.1:" << c.port << "\n";
    return 1;
  }
  std::cout << port << std::endl;
  svr.listen_after_bind();
  return 0;
}
