// Running cell images with podman: putting an image of an OCI layout into podman's local
// storage (via skopeo, as localhost/kernelsmith:<tag>) and running a command in it. podman's
// own configuration applies (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF); ksimg never edits it.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "util/subprocess.hpp"

namespace ksimg::run {

struct Mount {
  std::filesystem::path host;
  std::string container;
  bool read_only = true;
};

struct RunOptions {
  bool network = false;  // --network=none unless true
  std::vector<Mount> mounts;
  std::map<std::string, std::string> env;
  std::string workdir;
};

// Throws RuntimeError naming the Debian package when podman (or, for load, skopeo) is missing.
void require_podman();

// "localhost/kernelsmith:<tag>": the name `load` gives an image in podman's storage.
std::string local_name(const std::string& tag);

// Copies `tag` of the layout at `layout` into podman's storage as local_name(tag); returns it.
std::string load(const std::filesystem::path& layout, const std::string& tag);

// Runs `argv` in `image` (never pulls: the image must be local). Returns the result; a
// failure to start podman is a RuntimeError, a non-zero exit is the caller's to judge.
subprocess::Result run_in(const std::string& image, const std::vector<std::string>& argv,
                          const RunOptions& o = {});

// The podman argv that run_in executes (for logs and tests).
std::vector<std::string> podman_run_argv(const std::string& image, const std::vector<std::string>& argv,
                                         const RunOptions& o);

}  // namespace ksimg::run
