// Options shared by the commands that build from the lock (build, check, load,
// toolchain-layer): lock file, cache, mirrors, compression, pinning, layout.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "http/transport.hpp"
#include "layers/toolchain.hpp"
#include "oci/descriptor.hpp"

namespace ksimg::cli {

struct BuildOpts {
  std::string lock_file = "ksimg.lock.json", cache, debian_mirror, tarball_mirror;
  std::string source_mirror;  // REG/REPO (env KSIMG_SOURCE_MIRROR); "" = none
  std::string keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  std::string compression = "gzip";
  bool allow_unpinned = false, verify_cache = false;
};

// The default OCI layout of built cell images: KSIMG_LAYOUT, else $XDG_DATA_HOME/ksimg/oci,
// else ~/.local/share/ksimg/oci.
std::string default_layout();

// Adds --layout to `sub`, bound to `layout` (default: default_layout()).
void add_layout_option(CLI::App* sub, std::string& layout);
// Adds --lock --cache --debian-mirror --tarball-mirror --source-mirror --keyring --compression
// --allow-unpinned --verify-cache to `sub`.
void add_build_options(CLI::App* sub, BuildOpts& o);

// The source mirror `REG/REPO` names (cli/source_mirror.cpp); null for "". UsageError for a
// malformed value. The registry is contacted on first use, not here.
std::shared_ptr<layers::SourceMirror> open_source_mirror(const std::string& reg_repo);
// REG/REPO split into the registry host and the repository; UsageError without a repository.
std::pair<std::string, std::string> split_mirror(const std::string& reg_repo);

// The layers::BuildContext the options describe (reads the lock file if present).
layers::BuildContext build_context(const BuildOpts& o, http::Transport& t);

// RuntimeError (naming the packages to install) unless every platform of `platforms` that is not
// this machine's can run here: an arm64 image built or checked on an amd64 host runs its
// maintainer scripts and smoke check under qemu-user, which needs the aarch64 binfmt handler.
void require_emulation(const std::vector<oci::Platform>& platforms);

}  // namespace ksimg::cli
