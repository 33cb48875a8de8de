// Registry authentication (see auth.hpp). This first version is anonymous only: it adds
// nothing and never retries a 401. Basic and Bearer arrive with the auth work of issue 5.
#include "registry/auth.hpp"

namespace ksimg::registry {

std::string repository_scope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":pull,push" : ":pull");
}

namespace {
class Anonymous final : public Authenticator {
 public:
  void authorize(http::Request&, const std::string&) override {}
  bool on_unauthorized(const http::Response&, const std::string&) override { return false; }
};
}  // namespace

std::unique_ptr<Authenticator> make_authenticator(const AuthOptions&) { return std::make_unique<Anonymous>(); }

}  // namespace ksimg::registry
