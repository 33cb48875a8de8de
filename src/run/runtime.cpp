// The two runtime backends behind run::Runtime (runtime.hpp): podman (podman.cpp) and the
// built-in runtime (builtin.cpp, on a checkout of the tree store), and the choice between them
// (--runtime auto prefers podman when it answers here). The messages for a runtime's own exit
// statuses live here so `ksimg kbuild` reports them the same whichever command runs.
#include "run/runtime.hpp"

#include <optional>

#include "run/builtin.hpp"
#include "store/image.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::run {

namespace {

class Podman : public Runtime {
 public:
  std::string name() const override { return "podman"; }
  std::string prepare(const std::filesystem::path&, const std::string& image) override {
    return image_ = image;
  }
  std::vector<std::string> argv(const std::vector<std::string>& cmd, const RunOptions& o) const override {
    return podman_run_argv(image_, cmd, o);
  }
  int run(const std::vector<std::string>& cmd, const RunOptions& o) override {
    return run_attached(image_, cmd, o);
  }
  std::string describe_failure(int status) const override { return podman_failure(status, image_); }

 private:
  std::string image_;
};

class Builtin : public Runtime {
 public:
  explicit Builtin(std::filesystem::path store) : store_(std::move(store)) {}
  std::string name() const override { return "builtin"; }
  std::string prepare(const std::filesystem::path& layout, const std::string& image) override {
    auto st = store::Store::open(store_.empty() ? store::default_root() : store_);
    img_ = store::prepare_image(st, oci::Layout::open(layout), image);
    image_ = image;
    return img_->root.string();
  }
  std::vector<std::string> argv(const std::vector<std::string>& cmd, const RunOptions& o) const override {
    return bwrap_argv(*img_, cmd, o);
  }
  int run(const std::vector<std::string>& cmd, const RunOptions& o) override {
    return run_builtin_attached(*img_, cmd, o);
  }
  std::string describe_failure(int status) const override {
    if (status != 126 && status != 127) return "";
    return "bwrap could not run kbuild in " + image_ + " (exit " + std::to_string(status) +
           ", its message is above); check `ksimg shell --runtime builtin --cell ...`";
  }

 private:
  std::filesystem::path store_;
  std::optional<store::PreparedImage> img_;
  std::string image_;
};

}  // namespace

std::unique_ptr<Runtime> pick_runtime(const std::string& flag, const std::filesystem::path& store) {
  if (flag == "podman") {
    require_podman();
    return std::make_unique<Podman>();
  }
  if (flag == "builtin") {
    require_builtin();
    return std::make_unique<Builtin>(store);
  }
  auto why = podman_unusable();
  if (why.empty()) return std::make_unique<Podman>();
  if (auto no = builtin_unavailable(); !no.empty())
    throw RuntimeError("no runtime here: " + why + "; and " + no);
  log::info("runtime: builtin (bubblewrap), as " + why + "; --runtime podman forces podman");
  return std::make_unique<Builtin>(store);
}

std::string podman_failure(int status, const std::string& image) {
  switch (status) {
    case 125:
      return "podman refused to run " + image +
             " (exit 125, its message is above); check that `podman run --rm " + image +
             " kbuild info` works (storage, runtime, user namespaces)";
    case 126:
      return "podman could not start kbuild in " + image +
             " (exit 126, its message is above): a runtime failure a rebuild cannot fix when it says "
             "'error setting rlimit' (set default_ulimits within `ulimit -Hn` in your containers.conf) or "
             "'permission denied'; check that `podman run --rm " +
             image + " kbuild info` works";
    case 127:
      return image +
             " has no kbuild (exit 127): it is not a kernelsmith cell image; pick one with --image or "
             "drop --image";
    default:
      return "";
  }
}

}  // namespace ksimg::run
