// Image references as `ksimg push --to` and `ksimg pull` take them:
// `host[:port]/path/name[:tag][@sha256:<hex>]` (distribution-spec "Pulling manifests": the
// name, tag and digest grammars) and push destinations `host[:port][/namespace...]`.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "oci/digest.hpp"

namespace ksimg::registry {

struct Reference {
  std::string registry;    // "127.0.0.1:5000", "harbor.example.com"
  std::string repository;  // "ns/kernelsmith"
  std::string tag;         // may be empty when a digest is given
  std::optional<oci::Digest> digest;

  // "registry/repository[:tag][@digest]"
  std::string str() const;
  // "tag" or the digest, whichever addresses the manifest (the digest wins).
  std::string manifest_ref() const;
};

// Parses a full reference; throws UsageError naming the bad part (host, name component, tag,
// digest) and showing the expected form. A registry host is required (no Docker Hub default).
Reference parse_reference(std::string_view text);

struct Destination {
  std::string registry;    // "127.0.0.1:5000"
  std::string namespace_;  // "ns" or "team/ns"; may be empty
  // The repository an image goes to: "<namespace>/<name>" (or just name without a namespace).
  std::string repository(const std::string& name = "kernelsmith") const;
};

// Parses `REG[/NS...]` (the argument of `ksimg push --to`); UsageError naming the bad part.
Destination parse_destination(std::string_view text);

// Throws UsageError unless `host` is `name[:port]` with a valid DNS name, IPv4 or [IPv6].
void validate_registry_host(std::string_view host);
// True for localhost, 127.0.0.0/8 and [::1]: registries plain HTTP may be used for.
bool is_loopback(std::string_view registry);

}  // namespace ksimg::registry
