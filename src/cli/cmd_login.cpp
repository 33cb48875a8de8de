// `ksimg login` and `ksimg logout`: store and remove registry credentials in the
// auth.json podman uses (containers-auth.json(5)), after checking them against the registry
// (GET /v2/ through the same auth flow as push and pull). A password is read from stdin
// (--password-stdin) or from the terminal without echo, never from the command line.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "registry/client.hpp"
#include "registry/credentials.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct LoginOpts {
  std::string registry, username, authfile, ca_file;
  bool password_stdin = false, tls_verify = true, all = false;
};

// "https://reg.example:5000/" -> "reg.example:5000"; a repository path is refused.
std::string registry_host(std::string r) {
  for (const char* scheme : {"https://", "http://"})
    if (r.rfind(scheme, 0) == 0) r.erase(0, std::string(scheme).size());
  while (!r.empty() && r.back() == '/') r.pop_back();
  if (r.empty() || r.find('/') != std::string::npos || r.find_first_of(" \t@") != std::string::npos)
    throw UsageError("'" + r +
                     "' is not a registry: give HOST[:PORT] (e.g. harbor.example.com or 127.0.0.1:5000)");
  return r;
}

std::string strip_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// A line from the terminal on stdin, echo off when `secret` (restored even on errors).
std::string prompt(const std::string& what, bool secret) {
  std::cerr << what << ": " << std::flush;
  termios old{};
  bool restore = secret && ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (restore) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  return strip_newlines(line);
}

registry::Credential read_credential(const LoginOpts& o) {
  bool tty = ::isatty(STDIN_FILENO) == 1;
  registry::Credential c;
  c.username = o.username;
  if (c.username.empty()) {
    if (o.password_stdin || !tty) throw UsageError("no user name: pass -u USER");
    c.username = prompt("Username", false);
  }
  if (o.password_stdin) {
    c.secret = strip_newlines(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  } else if (tty) {
    c.secret = prompt("Password", true);
  } else {
    throw UsageError(
        "no password: pipe it with --password-stdin (ksimg never takes a password as an argument)");
  }
  if (c.username.empty() || c.secret.empty()) throw UsageError("empty user name or password");
  if (c.username.find(':') != std::string::npos)
    throw UsageError("a registry user name cannot contain ':' (RFC 7617); check -u");
  return c;
}

// GET /v2/ with the credential; RuntimeError when the registry refuses it.
void verify(const LoginOpts& o, const std::string& host, const registry::Credential& c) {
  registry::RegistryOptions ro;
  ro.registry = host;
  ro.tls_verify = o.tls_verify;
  if (!o.ca_file.empty()) ro.ca_file = o.ca_file;
  ro.credential = c;
  registry::Registry reg(ro);
  try {
    reg.ping();
  } catch (const http::NetworkError&) {
    throw;
  } catch (const RuntimeError& e) {
    std::string m = e.what();
    if (m.find("ksimg login") == std::string::npos) throw;
    throw RuntimeError("login to " + host + " failed: the registry refused the credentials of '" +
                       c.username + "'; check the user name and password");
  }
}

void login(const LoginOpts& o) {
  std::string host = registry_host(o.registry);
  auto cred = read_credential(o);
  verify(o, host, cred);
  auto file = o.authfile.empty() ? registry::default_auth_file() : std::filesystem::path(o.authfile);
  registry::store_credential(file, host, cred);
  log::info("credentials of '" + cred.username + "' for " + host + " saved in " + file.string());
  std::cout << "Login Succeeded!\n";
}

void logout(const LoginOpts& o) {
  auto file = o.authfile.empty() ? registry::default_auth_file() : std::filesystem::path(o.authfile);
  if (o.all) {
    size_t n = registry::remove_all_credentials(file);
    log::info("removed " + std::to_string(n) + " login(s) from " + file.string());
    std::cout << "Removed login credentials for all registries\n";
    return;
  }
  if (o.registry.empty()) throw UsageError("logout needs a REGISTRY, or --all");
  std::string host = registry_host(o.registry);
  if (registry::remove_credential(file, host) == 0) {
    auto other = registry::lookup_credential(host);
    if (other)
      throw RuntimeError("not logged in to " + host + " in " + file.string() +
                         "; its credentials come from " + other->source + ": remove them there");
    throw RuntimeError("not logged in to " + host + " (no entry in " + file.string() + ")");
  }
  std::cout << "Removed login credentials for " << host << "\n";
}

}  // namespace

void add_login_commands(CLI::App& app) {
  auto o = std::make_shared<LoginOpts>();
  auto* in =
      app.add_subcommand("login", "Check and save credentials for a registry (the auth.json podman uses)");
  in->add_option("registry", o->registry, "REGISTRY[:PORT]")->required();
  in->add_option("-u,--username", o->username,
                 "User name (Harbor robots: 'robot$project+name'; quote the $)");
  in->add_flag("--password-stdin", o->password_stdin, "Read the password (or token) from stdin");
  in->add_option(
      "--authfile", o->authfile,
      "Credentials file (default $REGISTRY_AUTH_FILE, else ${XDG_RUNTIME_DIR}/containers/auth.json)");
  in->add_option("--tls-verify", o->tls_verify,
                 "Verify the registry's TLS certificate (--tls-verify=false warns)")
      ->capture_default_str();
  in->add_option("--ca-file", o->ca_file, "Extra CA bundle (PEM) for the registry's certificate")
      ->check(CLI::ExistingFile);
  in->footer(
      "Examples:\n"
      "  printf '%s' \"$HARBOR_SECRET\" | ksimg login harbor.example.com -u 'robot$kernels+ci' "
      "--password-stdin\n"
      "  ksimg login 127.0.0.1:5000 -u ci          # prompts for the password without echo\n"
      "A password is never accepted as an argument (other users can read command lines).");
  in->callback([o] { login(*o); });

  auto* out = app.add_subcommand("logout", "Remove saved credentials for a registry");
  out->add_option("registry", o->registry, "REGISTRY[:PORT]");
  out->add_flag("-a,--all", o->all, "Remove the credentials of every registry");
  out->add_option("--authfile", o->authfile, "Credentials file (as for login)");
  out->footer("Examples:\n  ksimg logout harbor.example.com\n  ksimg logout --all");
  out->callback([o] { logout(*o); });
}

}  // namespace ksimg::cli
