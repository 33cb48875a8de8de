// One interface over the two ways ksimg runs a command in a cell image: podman (the image in
// podman's storage) and the built-in runtime (a tree store checkout under bubblewrap). `ksimg
// kbuild` (src/hostbuild) and `ksimg shell` pick one with pick_runtime and use only this, so
// neither knows which backend runs it.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "run/podman.hpp"

namespace ksimg::run {

class Runtime {
 public:
  virtual ~Runtime() = default;
  // "podman" or "builtin".
  virtual std::string name() const = 0;
  // Makes `image` runnable: podman: a name in podman's storage, used as is; builtin: a tag of
  // the layout at `layout`, imported into the store and checked out. Returns where it runs
  // from (the podman name, the checkout's root).
  virtual std::string prepare(const std::filesystem::path& layout, const std::string& image) = 0;
  // The command line run() executes (for logs).
  virtual std::vector<std::string> argv(const std::vector<std::string>& cmd, const RunOptions& o) const = 0;
  // Runs `cmd` in the prepared image attached to our stdio; its exit status.
  virtual int run(const std::vector<std::string>& cmd, const RunOptions& o) = 0;
  // The one-line error for the runtime's own exit statuses (it could not run the in-image
  // kbuild), or "" for statuses that are the command's.
  virtual std::string describe_failure(int status) const = 0;
};

// --runtime: "podman" or "builtin" as asked (checked for use), else "auto": podman when it
// answers here, else the built-in runtime (said once on stderr); RuntimeError naming the fix
// when none can run. `store`: the built-in runtime's tree store (empty: the default).
std::unique_ptr<Runtime> pick_runtime(const std::string& flag, const std::filesystem::path& store);

// The podman backend's describe_failure for `image`: 125 cannot run, 126 cannot execute,
// 127 no kbuild; "" otherwise.
std::string podman_failure(int status, const std::string& image);

}  // namespace ksimg::run
