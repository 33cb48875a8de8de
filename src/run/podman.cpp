// podman/skopeo invocation (see podman.hpp). Images are copied from the layout with
// `skopeo copy oci:<layout>:<tag> containers-storage:<name>` (podman pull would name them
// after the layout's path), and run with --pull=never so a missing image is an error, not a
// registry lookup.
#include "run/podman.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::run {

static void require(const char* program, const char* package) {
  if (!subprocess::find_program(program))
    throw RuntimeError(std::string(program) +
                       " is not installed; ksimg runs cell images with it (apt-get install " + package + ")");
}

void require_podman() {
  require("podman", "podman");
}

std::string local_name(const std::string& tag) {
  return "localhost/kernelsmith:" + tag;
}

std::string load(const std::filesystem::path& layout, const std::string& tag) {
  require("skopeo", "skopeo");
  require_podman();
  std::string name = local_name(tag);
  std::vector<std::string> argv{"skopeo", "copy", "--quiet",
                                "oci:" + std::filesystem::absolute(layout).string() + ":" + tag,
                                "containers-storage:" + name};
  auto r = subprocess::run(argv);
  if (!r.ok())
    throw RuntimeError("cannot load " + tag + " into podman: " + subprocess::describe_failure(argv, r));
  log::info("loaded " + name);
  return name;
}

std::vector<std::string> podman_run_argv(const std::string& image, const std::vector<std::string>& argv,
                                         const RunOptions& o) {
  std::vector<std::string> a{"podman", "run", "--rm", "--pull=never"};
  if (!o.network) a.push_back("--network=none");
  for (const auto& m : o.mounts)
    a.push_back("--volume=" + std::filesystem::absolute(m.host).string() + ":" + m.container +
                (m.read_only ? ":ro" : ":rw"));
  for (const auto& [k, v] : o.env) a.push_back("--env=" + k + "=" + v);
  if (!o.workdir.empty()) a.push_back("--workdir=" + o.workdir);
  a.push_back(image);
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

subprocess::Result run_in(const std::string& image, const std::vector<std::string>& argv,
                          const RunOptions& o) {
  require_podman();
  return subprocess::run(podman_run_argv(image, argv, o));
}

}  // namespace ksimg::run
