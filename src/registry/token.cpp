// The distribution token flow's pieces (token.hpp): scope strings as in distribution's
// docs/spec/auth/scope.md ("type:name:actions", several separated by spaces), the token GET
// query and the OAuth2 refresh POST form (docs/spec/auth/token.md, oauth.md), the token
// response ("token" or "access_token", "expires_in" defaulting to 60 s), and host matching
// so credentials only go to the registry (OCI distribution-spec: never across hosts).
#include "registry/token.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "http/transport.hpp"
#include "util/error.hpp"

namespace ksimg::registry::token {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void add_scope_entry(Scopes& out, std::string_view e) {
  auto first = e.find(':');
  auto last = e.rfind(':');
  if (first == std::string_view::npos || first == last || first == 0) return;
  std::string resource(e.substr(0, last));
  std::string_view actions = e.substr(last + 1);
  auto& set = out[resource];
  while (!actions.empty()) {
    auto comma = actions.find(',');
    auto a = actions.substr(0, comma);
    if (!a.empty()) set.insert(std::string(a));
    if (comma == std::string_view::npos) break;
    actions.remove_prefix(comma + 1);
  }
  if (set.empty()) out.erase(resource);
}

std::string query_params(const std::string& service, const Scopes& scopes) {
  std::string q;
  auto add = [&](const char* k, const std::string& v) {
    if (!q.empty()) q += '&';
    q += k;
    q += '=';
    q += url_encode(v);
  };
  if (!service.empty()) add("service", service);
  for (const auto& s : format_scopes(scopes)) add("scope", s);
  return q;
}

}  // namespace

Scopes parse_scopes(std::string_view s) {
  Scopes out;
  while (!s.empty()) {
    auto b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    auto e = s.find_first_of(" \t");
    add_scope_entry(out, s.substr(0, e));
    if (e == std::string_view::npos) break;
    s.remove_prefix(e);
  }
  return out;
}

bool merge_scopes(Scopes& into, const Scopes& more) {
  bool grew = false;
  for (const auto& [res, actions] : more)
    for (const auto& a : actions) grew |= into[res].insert(a).second;
  return grew;
}

std::vector<std::string> format_scopes(const Scopes& s) {
  std::vector<std::string> out;
  for (const auto& [res, actions] : s) {
    std::string e = res + ":";
    bool first = true;
    for (const auto& a : actions) {
      if (!first) e += ',';
      e += a;
      first = false;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string url_encode(std::string_view s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string request_url(const std::string& realm, const std::string& service, const Scopes& scopes,
                        const std::string& account) {
  std::string q = query_params(service, scopes);
  if (!account.empty()) q += (q.empty() ? "account=" : "&account=") + url_encode(account);
  if (q.empty()) return realm;
  return realm + (realm.find('?') == std::string::npos ? "?" : "&") + q;
}

std::string refresh_form(const std::string& service, const Scopes& scopes, const std::string& refresh_token) {
  std::string q = "grant_type=refresh_token&client_id=ksimg";
  if (!service.empty()) q += "&service=" + url_encode(service);
  // The OAuth2 form takes every scope in one space-separated "scope" parameter.
  std::string merged;
  for (const auto& s : format_scopes(scopes)) merged += (merged.empty() ? "" : " ") + s;
  if (!merged.empty()) q += "&scope=" + url_encode(merged);
  return q + "&refresh_token=" + url_encode(refresh_token);
}

Reply parse_reply(const std::string& body, const std::string& realm) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object())
    throw RuntimeError("token server " + realm + " answered something that is not a JSON object");
  Reply r;
  for (const char* key : {"token", "access_token"}) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      r.token = it->get<std::string>();
      break;
    }
  }
  if (r.token.empty()) throw RuntimeError("token server " + realm + " answered without a token");
  r.expires_in = std::chrono::seconds(60);
  auto ex = j.find("expires_in");
  if (ex != j.end() && ex->is_number() && ex->get<double>() >= 1 && ex->get<double>() < 1e9)
    r.expires_in = std::chrono::seconds(static_cast<long long>(ex->get<double>()));
  auto rt = j.find("refresh_token");
  if (rt != j.end() && rt->is_string()) r.refresh_token = rt->get<std::string>();
  return r;
}

bool on_registry(const std::string& url, const std::string& registry) {
  std::string o;
  try {
    o = http::origin(url);
  } catch (const UsageError&) {
    return false;
  }
  auto sep = o.find("://");
  std::string scheme = o.substr(0, sep), hostport = o.substr(sep + 3);
  std::string reg = lower(registry);
  auto bracket = reg.rfind(']');
  bool has_port = reg.find(':', bracket == std::string::npos ? 0 : bracket) != std::string::npos;
  if (has_port) return hostport == reg;
  return hostport == reg + ":" + (scheme == "https" ? "443" : "80");
}

}  // namespace ksimg::registry::token
