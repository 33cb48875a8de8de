// `--source-mirror REG/REPO` (docs/mirror.md): the layers::SourceMirror the download cache
// tries before any URL, implemented with the registry client's source artifacts
// (registry/source_mirror.hpp). The registry is pinged on first use, so an unreachable
// mirror costs a warning and the upstream URLs are tried, never a failed build by itself.
#include "registry/source_mirror.hpp"

#include <memory>

#include "cli/build_options.hpp"
#include "cli/registry_flags.hpp"
#include "layers/cache.hpp"
#include "registry/credentials.hpp"
#include "registry/reference.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

class RegistrySourceMirror : public layers::SourceMirror {
 public:
  RegistrySourceMirror(std::string host, std::string repo) : host_(std::move(host)), repo_(std::move(repo)) {}
  std::string name() const override { return host_ + "/" + repo_; }
  bool fetch(const layers::SourcePin& pin, const std::filesystem::path& dest) override {
    if (!reg_) reg_ = open_registry(host_, RegistryFlags{});
    return registry::fetch_source(*reg_, repo_, {pin.name, pin.urls, pin.sha256, pin.nar_sha256}, dest);
  }

 private:
  std::string host_, repo_;
  std::unique_ptr<registry::Registry> reg_;
};

}  // namespace

std::pair<std::string, std::string> split_mirror(const std::string& reg_repo) {
  auto d = registry::parse_destination(reg_repo);
  if (d.namespace_.empty())
    throw UsageError("source mirror '" + reg_repo + "' names no repository; give REG/REPO such as " +
                     "harbor.example.com/ci/sources");
  return {d.registry, d.namespace_};
}

std::shared_ptr<layers::SourceMirror> open_source_mirror(const std::string& reg_repo) {
  if (reg_repo.empty()) return nullptr;
  auto [host, repo] = split_mirror(reg_repo);
  return std::make_shared<RegistrySourceMirror>(host, repo);
}

}  // namespace ksimg::cli
