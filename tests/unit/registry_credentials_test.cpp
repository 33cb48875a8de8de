// Unit tests for credential lookup and storage (src/registry/credentials.*): podman's then
// docker's file order under a temporary HOME and XDG dirs, docker's key matching, identity
// tokens, credHelpers and credsStore through a fake docker-credential-test script on PATH
// (server URL on stdin, never in argv), and the login/logout auth.json round trip that keeps
// every other entry and writes mode 0600.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>

#include "oci/base64.hpp"
#include "registry/credentials.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Sets (or unsets, for nullptr) environment variables for one test, restoring them after.
struct EnvScope {
  std::map<std::string, std::optional<std::string>> saved;
  void set(const std::string& k, const char* v) {
    if (!saved.count(k)) {
      const char* old = std::getenv(k.c_str());
      saved[k] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    v ? ::setenv(k.c_str(), v, 1) : ::unsetenv(k.c_str());
  }
  ~EnvScope() {
    for (auto& [k, v] : saved) v ? ::setenv(k.c_str(), v->c_str(), 1) : ::unsetenv(k.c_str());
  }
};

// A private HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME; no DOCKER_CONFIG or REGISTRY_AUTH_FILE.
struct Homes {
  TempDir tmp{"ksimg-creds"};
  EnvScope env;
  fs::path home = tmp / "home", run = tmp / "run", config = tmp / "config", bin = tmp / "bin";
  Homes() {
    for (auto& d : {home, run, config, bin}) fs::create_directories(d);
    env.set("HOME", home.c_str());
    env.set("XDG_RUNTIME_DIR", run.c_str());
    env.set("XDG_CONFIG_HOME", config.c_str());
    env.set("DOCKER_CONFIG", nullptr);
    env.set("REGISTRY_AUTH_FILE", nullptr);
    std::string path = bin.string() + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    env.set("PATH", path.c_str());
  }
  void write(const fs::path& f, const json& j) {
    fs::create_directories(f.parent_path());
    files::write_atomic(f, j.dump());
  }
  static json auths(const std::string& key, const std::string& user, const std::string& pass) {
    return json{{"auths", {{key, {{"auth", oci::base64_encode(user + ":" + pass)}}}}}};
  }
  // docker-credential-test: logs its argv and stdin, answers for "helper.example" only.
  void helper() {
    auto p = bin / "docker-credential-test";
    files::write_atomic(
        p,
        "#!/bin/sh\n"
        "echo \"$@\" >> '" +
            (tmp / "helper.argv").string() +
            "'\n"
            "read server; echo \"$server\" >> '" +
            (tmp / "helper.stdin").string() +
            "'\n"
            "case \"$server\" in\n"
            "  helper.example|https://helper.example) echo "
            "'{\"ServerURL\":\"'$server'\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
            "  token.example) echo "
            "'{\"ServerURL\":\"token.example\",\"Username\":\"<token>\",\"Secret\":\"refresh\"}' ;;\n"
            "  broken.example) echo 'helper exploded' >&2; exit 3 ;;\n"
            "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
            "esac\n",
        0755);
  }
};

std::string user_of(const std::string& reg) {
  auto c = registry::find_credential(reg);
  return c ? c->username + ":" + c->secret : "none";
}

}  // namespace

TEST_CASE("credentials: podman's then docker's files, first match wins") {
  Homes h;
  auto files = registry::auth_files();
  REQUIRE(files.size() == 3);
  CHECK(files[0] == h.run / "containers/auth.json");
  CHECK(files[1] == h.config / "containers/auth.json");
  CHECK(files[2] == h.home / ".docker/config.json");
  CHECK(user_of("reg.example") == "none");
  h.write(h.home / ".docker/config.json", Homes::auths("reg.example", "docker", "d"));
  CHECK(user_of("reg.example") == "docker:d");
  h.write(h.config / "containers/auth.json", Homes::auths("reg.example", "config", "c"));
  CHECK(user_of("reg.example") == "config:c");
  h.write(h.run / "containers/auth.json", Homes::auths("reg.example", "run", "r"));
  CHECK(user_of("reg.example") == "run:r");
  h.write(h.tmp / "explicit.json", Homes::auths("reg.example", "explicit", "e"));
  h.env.set("REGISTRY_AUTH_FILE", (h.tmp / "explicit.json").c_str());
  CHECK(registry::auth_files().size() == 4);
  CHECK(user_of("reg.example") == "explicit:e");
  CHECK(registry::lookup_credential("reg.example")->source == (h.tmp / "explicit.json").string());
  // An entry for another registry does not stop the search.
  h.write(h.tmp / "explicit.json", Homes::auths("other.example", "o", "o"));
  CHECK(user_of("reg.example") == "run:r");
  // DOCKER_CONFIG replaces ~/.docker.
  h.env.set("DOCKER_CONFIG", (h.tmp / "dc").c_str());
  CHECK(registry::auth_files().back() == h.tmp / "dc/config.json");
  h.write(h.tmp / "dc/config.json", Homes::auths("only-docker.example", "dc", "x"));
  CHECK(user_of("only-docker.example") == "dc:x");
}

TEST_CASE("credentials: keys match as docker matches them, robot names and colons in secrets") {
  Homes h;
  json j{{"auths",
          {{"https://reg.example:5000/v1/", {{"auth", oci::base64_encode("robot$proj+ci:s3:cr$t")}}},
           {"http://plain.example", {{"auth", oci::base64_encode("p:q")}}},
           {"https://index.docker.io/v1/", {{"auth", oci::base64_encode("hub:h")}}},
           {"empty.example", {{"auth", ""}}},
           {"id.example", {{"auth", oci::base64_encode("me:")}, {"identitytoken", "idtok"}}}}}};
  h.write(h.home / ".docker/config.json", j);
  CHECK(user_of("reg.example:5000") == "robot$proj+ci:s3:cr$t");
  CHECK(user_of("REG.example:5000") == "robot$proj+ci:s3:cr$t");
  CHECK(user_of("reg.example") == "none");  // another port is another registry
  CHECK(user_of("plain.example") == "p:q");
  CHECK(user_of("docker.io") == "hub:h");
  CHECK(user_of("empty.example") == "none");
  auto id = registry::find_credential("id.example");
  REQUIRE(id);
  CHECK(id->identity_token);
  CHECK(id->username == "me");
  CHECK(id->secret == "idtok");
}

TEST_CASE("credentials: broken files are errors naming the file, never the secret") {
  Homes h;
  fs::create_directories(h.home / ".docker");
  files::write_atomic(h.home / ".docker/config.json", "{ not json");
  CHECK_THROWS_WITH_AS(registry::find_credential("x"), doctest::Contains(".docker/config.json"),
                       RuntimeError);
  h.write(h.home / ".docker/config.json",
          json{{"auths", {{"x", {{"auth", oci::base64_encode("nocolon")}}}}}});
  try {
    registry::find_credential("x");
    FAIL("no error");
  } catch (const RuntimeError& e) {
    CHECK(std::string(e.what()).find("not base64 of user:password") != std::string::npos);
    CHECK(std::string(e.what()).find("nocolon") == std::string::npos);
  }
}

TEST_CASE("credentials: credHelpers and credsStore through docker-credential programs") {
  Homes h;
  h.helper();
  h.write(h.home / ".docker/config.json",
          json{{"credHelpers",
                {{"helper.example", "test"}, {"broken.example", "test"}, {"missing.example", "nope"}}},
               {"auths", {{"missing.example", {{"auth", oci::base64_encode("file:f")}}}}}});
  CHECK(user_of("helper.example") == "hu:hs");
  CHECK(files::read(h.tmp / "helper.argv") == "get\n");              // only "get" in argv
  CHECK(files::read(h.tmp / "helper.stdin") == "helper.example\n");  // the server on stdin
  CHECK_THROWS_WITH_AS(registry::find_credential("broken.example"), doctest::Contains("helper exploded"),
                       RuntimeError);
  CHECK(user_of("missing.example") == "file:f");  // helper not in PATH: warned, then the file
  // credsStore answers for registries without a helper or an auth entry.
  h.write(h.home / ".docker/config.json",
          json{{"credsStore", "test"}, {"auths", {{"https://helper.example", json::object()}}}});
  CHECK(user_of("helper.example") == "hu:hs");
  CHECK(files::read(h.tmp / "helper.stdin") == "helper.example\nbroken.example\nhttps://helper.example\n");
  CHECK(user_of("unknown.example") == "none");  // "credentials not found": anonymous
  auto tok = registry::find_credential("token.example");
  REQUIRE(tok);
  CHECK(tok->identity_token);
  CHECK(tok->secret == "refresh");
}

TEST_CASE("credentials: login and logout keep other entries, write 0600 atomically") {
  Homes h;
  CHECK(registry::default_auth_file() == h.run / "containers/auth.json");
  h.env.set("REGISTRY_AUTH_FILE", (h.tmp / "sub/dir/auth.json").c_str());
  auto f = registry::default_auth_file();
  CHECK(f == h.tmp / "sub/dir/auth.json");
  h.write(f, json{{"auths", {{"keep.example", {{"auth", "a2VlcDpr"}}}}},
                  {"credHelpers", {{"x.example", "test"}}},
                  {"unknownKey", 42}});
  registry::store_credential(f, "reg.example:5000", {"robot$proj+ci", "pw", false});
  struct stat st {};
  REQUIRE(::stat(f.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto j = json::parse(files::read(f));
  CHECK(j["auths"]["keep.example"]["auth"] == "a2VlcDpr");
  CHECK(j["credHelpers"]["x.example"] == "test");
  CHECK(j["unknownKey"] == 42);
  CHECK(j["auths"]["reg.example:5000"]["auth"] == oci::base64_encode("robot$proj+ci:pw"));
  CHECK(user_of("reg.example:5000") == "robot$proj+ci:pw");
  registry::store_credential(f, "reg.example:5000", {"robot$proj+ci", "new", false});  // replaced
  CHECK(user_of("reg.example:5000") == "robot$proj+ci:new");
  CHECK(registry::remove_credential(f, "reg.example:5000") == 1);
  CHECK(registry::remove_credential(f, "reg.example:5000") == 0);
  CHECK(user_of("reg.example:5000") == "none");
  j = json::parse(files::read(f));
  CHECK(j["auths"].size() == 1);
  CHECK(j["unknownKey"] == 42);
  CHECK(registry::remove_all_credentials(f) == 1);
  CHECK(json::parse(files::read(f))["auths"].empty());
  CHECK(registry::remove_credential(h.tmp / "absent.json", "x") == 0);
  CHECK_THROWS_AS(registry::store_credential(f, "r", {"a:b", "c", false}), UsageError);
  // A fresh file in a new directory: the directory is private.
  auto g = h.tmp / "newdir/containers/auth.json";
  registry::store_credential(g, "r.example", {"u", "p", false});
  REQUIRE(::stat(g.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
}
