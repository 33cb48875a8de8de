// Registry credentials from the files podman and docker keep: containers' auth.json and
// docker's config.json (`auths`, `credHelpers`, `credsStore` through docker-credential-*
// programs), and writing auth.json for `ksimg login` / `ksimg logout`.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "registry/auth.hpp"

namespace ksimg::registry {

// The files searched, in order (podman's order, then docker's):
//   $REGISTRY_AUTH_FILE (when set);
//   ${XDG_RUNTIME_DIR}/containers/auth.json (/run/containers/$UID/auth.json without it);
//   ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json;
//   $DOCKER_CONFIG/config.json, or ~/.docker/config.json.
std::vector<std::filesystem::path> auth_files();

struct FoundCredential {
  Credential credential;
  std::string source;  // the file, or "docker-credential-NAME (from FILE)": for messages
};

// The first credential for `registry` ("host[:port]") in auth_files(). In each file:
// credHelpers[registry], then auths[registry] ("auth": base64 "user:password", with
// "identitytoken" when present), then credsStore. Keys match as docker matches them: "host",
// "https://host", "http://host/v1/" ... (scheme and path ignored). Missing files are skipped;
// a file that is not JSON, or a helper that fails, is an error naming it (never the secret).
std::optional<FoundCredential> lookup_credential(const std::string& registry);
std::optional<Credential> find_credential(const std::string& registry);

// The file login/logout write: $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json
// (/run/containers/$UID/auth.json without XDG_RUNTIME_DIR), as podman does.
std::filesystem::path default_auth_file();

// Sets auths[registry] = {"auth": base64("user:secret")} in `file`, keeping every other key
// and entry; written atomically with mode 0600 (parent directories created 0700).
void store_credential(const std::filesystem::path& file, const std::string& registry, const Credential& c);

// Removes the auths entries for `registry` (every key docker would match to it); returns
// how many were removed (0: the file or the entry is missing).
size_t remove_credential(const std::filesystem::path& file, const std::string& registry);
// Removes every auths entry, keeping the other keys; returns how many were removed.
size_t remove_all_credentials(const std::filesystem::path& file);

}  // namespace ksimg::registry
