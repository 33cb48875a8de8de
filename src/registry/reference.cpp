// Image reference parsing (see reference.hpp). Grammars from the OCI distribution-spec
// ("Pulling manifests"): a name is components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/',
// a tag is [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}, a digest is sha256:<64 lowercase hex>.
#include "registry/reference.hpp"

#include <algorithm>
#include <regex>

#include "oci/layout.hpp"
#include "util/error.hpp"

namespace ksimg::registry {

namespace {

const char* kForm =
    "write HOST[:PORT]/NAMESPACE/NAME[:TAG][@sha256:HEX], e.g. 127.0.0.1:5000/ns/kernelsmith:k4-mipsel";

void validate_component(std::string_view c, std::string_view whole) {
  static const std::regex re("[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*");
  if (!std::regex_match(c.begin(), c.end(), re))
    throw UsageError("'" + std::string(whole) + "': repository name component '" + std::string(c) +
                     "' is invalid: use lowercase letters, digits and single '.', '_', '-' between them");
}

void validate_repository(std::string_view repo, std::string_view whole) {
  if (repo.empty()) throw UsageError("'" + std::string(whole) + "' has no repository name; " + kForm);
  size_t start = 0;
  while (true) {
    size_t slash = repo.find('/', start);
    validate_component(repo.substr(start, slash == std::string_view::npos ? slash : slash - start), whole);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (repo.size() > 255)
    throw UsageError("'" + std::string(whole) + "': the repository name is over 255 characters");
}

// Splits "host/rest" and checks the host part.
std::pair<std::string, std::string> split_host(std::string_view text) {
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  validate_registry_host(host);
  return {host, slash == std::string_view::npos ? std::string() : std::string(text.substr(slash + 1))};
}

}  // namespace

void validate_registry_host(std::string_view host) {
  static const std::regex name(
      "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*");
  static const std::regex v6("\\[[0-9A-Fa-f:.]+\\]");
  std::string h(host), port;
  auto colon = h.rfind(':');
  if (colon != std::string::npos && h.find(']', colon) == std::string::npos) {
    port = h.substr(colon + 1);
    h = h.substr(0, colon);
    bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), ::isdigit);
    if (!digits || std::stoi(port) == 0 || std::stoi(port) > 65535)
      throw UsageError("registry '" + std::string(host) + "': port '" + port +
                       "' is not a number from 1 to 65535");
  }
  bool dotted = h.find('.') != std::string::npos || h == "localhost" || !port.empty() || h.front() == '[';
  if (h.empty() || !(std::regex_match(h, name) || std::regex_match(h, v6)) || !dotted)
    throw UsageError("'" + std::string(host) + "' is not a registry host (a DNS name with a dot, an IP, " +
                     "localhost, or any of them with :PORT); " + kForm);
}

bool is_loopback(std::string_view registry) {
  std::string h(registry);
  if (h.rfind("[::1]", 0) == 0) return true;
  h = h.substr(0, h.find(':'));
  return h == "localhost" || h.rfind("127.", 0) == 0;
}

std::string Reference::manifest_ref() const {
  return digest ? digest->str() : tag;
}

std::string Reference::str() const {
  std::string s = registry + "/" + repository;
  if (!tag.empty()) s += ":" + tag;
  if (digest) s += "@" + digest->str();
  return s;
}

Reference parse_reference(std::string_view text) {
  Reference r;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto d = oci::Digest::try_parse(rest.substr(at + 1));
    if (!d)
      throw UsageError("'" + std::string(text) + "': digest '" + std::string(rest.substr(at + 1)) +
                       "' is not sha256:<64 lowercase hex>");
    r.digest = *d;
    rest = rest.substr(0, at);
  }
  auto [host, path] = split_host(rest);
  if (path.empty()) throw UsageError("'" + std::string(text) + "' has no repository name; " + kForm);
  r.registry = host;
  if (auto colon = path.rfind(':'); colon != std::string::npos) {
    r.tag = path.substr(colon + 1);
    path = path.substr(0, colon);
    try {
      oci::validate_tag(r.tag);
    } catch (const UsageError& e) {
      throw UsageError("'" + std::string(text) + "': " + e.what());
    }
  }
  validate_repository(path, text);
  r.repository = path;
  if (r.tag.empty() && !r.digest)
    throw UsageError("'" + std::string(text) + "' names no tag or digest; add :TAG or @sha256:HEX");
  return r;
}

std::string Destination::repository(const std::string& name) const {
  return namespace_.empty() ? name : namespace_ + "/" + name;
}

Destination parse_destination(std::string_view text) {
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  if (text.find('@') != std::string_view::npos || text.find("://") != std::string_view::npos)
    throw UsageError("--to '" + std::string(text) +
                     "': give REGISTRY[/NAMESPACE] without scheme, tag or digest");
  auto [host, ns] = split_host(text);
  if (!ns.empty()) {
    if (ns.find(':') != std::string::npos)
      throw UsageError("--to '" + std::string(text) + "': give REGISTRY[/NAMESPACE] without a tag");
    validate_repository(ns, text);
  }
  return {host, ns};
}

}  // namespace ksimg::registry
