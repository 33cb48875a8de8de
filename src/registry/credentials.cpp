// Credential lookup and storage (credentials.hpp), compatible with podman's auth.json
// (containers-auth.json(5)) and docker's config.json (docker/cli configfile, and the
// docker-credential-helpers protocol: `docker-credential-NAME get` reads the server URL on
// stdin and prints {"ServerURL","Username","Secret"}; Username "<token>" marks an identity
// token). Secrets never reach argv, logs or error messages.
#include "registry/credentials.hpp"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "oci/base64.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::registry {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

fs::path home_dir() {
  if (auto h = env("HOME"); !h.empty()) return h;
  if (auto* pw = ::getpwuid(::getuid())) return pw->pw_dir;
  return "/";
}

fs::path runtime_auth_file() {
  if (auto d = env("XDG_RUNTIME_DIR"); !d.empty()) return fs::path(d) / "containers" / "auth.json";
  return fs::path("/run/containers") / std::to_string(::getuid()) / "auth.json";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A config key as docker compares it: no scheme, nothing from the first '/'.
std::string normalize_key(std::string k) {
  for (const char* scheme : {"https://", "http://"})
    if (k.rfind(scheme, 0) == 0) k.erase(0, std::string(scheme).size());
  return lower(k.substr(0, k.find('/')));
}

// Docker Hub goes by several names; its config key is "https://index.docker.io/v1/".
bool same_registry(const std::string& key, const std::string& registry) {
  auto k = normalize_key(key), r = lower(registry);
  auto hub = [](const std::string& h) {
    return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
  };
  return k == r || (hub(k) && hub(r));
}

// The key of `obj` for `registry`: the exact key first, then the first that matches.
std::optional<std::string> match_key(const json& obj, const std::string& registry) {
  if (!obj.is_object()) return std::nullopt;
  if (obj.contains(registry)) return registry;
  for (const auto& [k, _] : obj.items())
    if (same_registry(k, registry)) return k;
  return std::nullopt;
}

json read_json(const fs::path& file) {
  auto text = files::read_if_exists(file);
  if (!text) return json();
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_object())
    throw RuntimeError(file.string() +
                       " is not a JSON object; fix or remove it (it holds registry credentials)");
  return j;
}

std::optional<FoundCredential> from_helper(const std::string& helper, const std::string& server,
                                           const fs::path& file) {
  std::string prog = "docker-credential-" + helper;
  std::string source = prog + " (from " + file.string() + ")";
  if (!subprocess::find_program(prog)) {
    log::warn(file.string() + " names the credential helper " + prog + ", which is not in PATH; ignoring it");
    return std::nullopt;
  }
  subprocess::Options so;
  so.input = server + "\n";
  so.max_output = 1 << 20;
  auto r = subprocess::run({prog, "get"}, so);
  if (!r.ok()) {
    if ((r.out + r.err).find("credentials not found") != std::string::npos) return std::nullopt;
    throw RuntimeError(subprocess::describe_failure({prog, "get"}, r) + " for " + server +
                       "; fix the helper or " + file.string());
  }
  auto j = json::parse(r.out, nullptr, false);
  if (!j.is_object() || !j.value("Secret", json()).is_string())
    throw RuntimeError(prog + " get printed no credential JSON for " + server + "; fix the helper or " +
                       file.string());
  Credential c{j.value("Username", std::string()), j["Secret"].get<std::string>(), false};
  if (c.username == "<token>") c.identity_token = true;
  return FoundCredential{c, source};
}

std::optional<FoundCredential> from_auth_entry(const json& entry, const std::string& key,
                                               const fs::path& file) {
  if (!entry.is_object()) return std::nullopt;
  std::string auth = entry.value("auth", std::string()),
              identity = entry.value("identitytoken", std::string());
  if (auth.empty() && identity.empty()) return std::nullopt;  // a placeholder next to a credsStore
  std::string user;
  std::string secret;
  if (!auth.empty()) {
    auto decoded = oci::base64_decode(auth);
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos)
      throw RuntimeError(file.string() + ": auths[\"" + key +
                         "\"].auth is not base64 of user:password; run `ksimg login` again or fix the file");
    user = decoded->substr(0, colon);
    secret = decoded->substr(colon + 1);
  }
  if (!identity.empty()) return FoundCredential{Credential{user, identity, true}, file.string()};
  return FoundCredential{Credential{user, secret, false}, file.string()};
}

std::optional<FoundCredential> from_file(const fs::path& file, const std::string& registry) {
  json j = read_json(file);
  if (j.is_null()) return std::nullopt;
  if (auto k = match_key(j.value("credHelpers", json()), registry); k && j["credHelpers"][*k].is_string())
    if (auto c = from_helper(j["credHelpers"][*k].get<std::string>(), *k, file)) return c;
  auto k = match_key(j.value("auths", json()), registry);
  if (k)
    if (auto c = from_auth_entry(j["auths"][*k], *k, file)) return c;
  if (j.value("credsStore", json()).is_string() && !j["credsStore"].get<std::string>().empty())
    return from_helper(j["credsStore"].get<std::string>(), k.value_or(registry), file);
  return std::nullopt;
}

}  // namespace

std::vector<fs::path> auth_files() {
  std::vector<fs::path> out;
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) out.emplace_back(f);
  out.push_back(runtime_auth_file());
  auto config = env("XDG_CONFIG_HOME");
  out.push_back((config.empty() ? home_dir() / ".config" : fs::path(config)) / "containers" / "auth.json");
  auto docker = env("DOCKER_CONFIG");
  out.push_back((docker.empty() ? home_dir() / ".docker" : fs::path(docker)) / "config.json");
  return out;
}

std::optional<FoundCredential> lookup_credential(const std::string& registry) {
  for (const auto& f : auth_files())
    if (auto c = from_file(f, registry)) {
      log::debug("registry " + registry + ": credentials of '" + c->credential.username + "' from " +
                 c->source);
      return c;
    }
  return std::nullopt;
}

std::optional<Credential> find_credential(const std::string& registry) {
  auto c = lookup_credential(registry);
  if (!c) return std::nullopt;
  return c->credential;
}

fs::path default_auth_file() {
  if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty()) return f;
  return runtime_auth_file();
}

void store_credential(const fs::path& file, const std::string& registry, const Credential& c) {
  if (c.username.find(':') != std::string::npos)
    throw UsageError("a registry user name cannot contain ':' (RFC 7617); check the -u value");
  json j = read_json(file);
  if (j.is_null()) j = json::object();
  if (!j["auths"].is_object()) j["auths"] = json::object();
  j["auths"][registry] = json{{"auth", oci::base64_encode(c.username + ":" + c.secret)}};
  if (!file.parent_path().empty() && !fs::exists(file.parent_path())) {
    fs::create_directories(file.parent_path());
    fs::permissions(file.parent_path(), fs::perms::owner_all);
  }
  files::write_atomic(file, j.dump(1, '\t') + "\n", 0600);
}

size_t remove_credential(const fs::path& file, const std::string& registry) {
  json j = read_json(file);
  if (j.is_null() || !j.value("auths", json()).is_object()) return 0;
  std::vector<std::string> keys;
  for (const auto& [k, _] : j["auths"].items())
    if (k == registry || same_registry(k, registry)) keys.push_back(k);
  for (const auto& k : keys) j["auths"].erase(k);
  if (!keys.empty()) files::write_atomic(file, j.dump(1, '\t') + "\n", 0600);
  return keys.size();
}

size_t remove_all_credentials(const fs::path& file) {
  json j = read_json(file);
  if (j.is_null() || !j.value("auths", json()).is_object()) return 0;
  size_t n = j["auths"].size();
  j["auths"] = json::object();
  if (n > 0) files::write_atomic(file, j.dump(1, '\t') + "\n", 0600);
  return n;
}

}  // namespace ksimg::registry
