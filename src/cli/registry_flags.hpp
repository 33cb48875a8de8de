// Flags push and pull share: TLS, CA file, parallel jobs, --json, the images lock; and the
// registry::Registry they describe for one host.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "registry/client.hpp"
#include "registry/images_lock.hpp"

namespace ksimg::cli {

struct RegistryFlags {
  bool tls_verify = true;
  std::string ca_file;
  int jobs = 4;
  bool json = false;
  std::string images_lock;
};

inline void add_registry_flags(CLI::App* sub, RegistryFlags& f) {
  sub->add_option("--tls-verify", f.tls_verify,
                  "Verify the registry's TLS certificate (--tls-verify=false for one test registry; warns)")
      ->capture_default_str();
  sub->add_option("--ca-file", f.ca_file, "Extra CA bundle (PEM) for the registry's certificate")
      ->check(CLI::ExistingFile);
  sub->add_option("-j,--jobs", f.jobs, "Blobs transferred in parallel")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  sub->add_flag("--json", f.json, "Print a JSON summary on stdout");
  f.images_lock = registry::default_images_lock().string();
  sub->add_option("--images-lock", f.images_lock, "Pinned image digests (env KSIMG_IMAGES_LOCK)")
      ->capture_default_str();
}

std::unique_ptr<registry::Registry> open_registry(const std::string& host, const RegistryFlags& f);

}  // namespace ksimg::cli
