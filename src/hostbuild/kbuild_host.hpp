// `ksimg kbuild` on the host : the pieces between the command line and the runtime.
// The kernel source comes from the user (a tree or a tarball) or is downloaded here from a
// kernel.org-layout mirror, verified against the directory's sha256sums.asc and kept in the
// download cache, because the build itself runs with --network=none. The image is --image,
// else the images.lock.json pin, else the layout's tag, else built from the lock. The in-image
// kbuild does the build; this side mounts what it needs and passes the flags through.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "http/transport.hpp"
#include "layers/cache.hpp"
#include "matrix/version.hpp"
#include "run/podman.hpp"

namespace ksimg::hostbuild {

namespace fs = std::filesystem;

// What the user asked for (the flags of `ksimg kbuild`).
struct Request {
  std::string version_arg, arch, source_kind;
  std::string source;  // a tree or tarball on the host; empty: download
  std::string out, ccache_dir, mirror, sha256;
  std::string image, layout, images_lock;
  std::string platform;  // --platform: a multi-platform image's entry to run ("": this machine's)
  std::string runtime = "auto", store;  // --runtime auto|podman|builtin, --store (builtin)
  std::string defconfig, config, targets;
  std::string init_abi;  // --init-abi: the initramfs target's /init for a compat ABI
  std::vector<std::string> enable, disable, fragments;
  int jobs = 0;
  bool config_strict = false, force = false, dry_run = false, tty = false;
  bool no_ccache = false;     // --no-ccache: no ccache dir mounted, kbuild --no-ccache
  std::string ccache_remote;  // --ccache-remote: ccache's remote storage URL (CCACHE_REMOTE_STORAGE)
  bool boot_config = false, boot_test = false;
  std::string boot_config_data;  // with boot_config: the host matrix's boot config as JSON
};

// Where the kernel source is on the host and where kbuild sees it.
struct SourcePlan {
  fs::path host;                      // the tree or tarball on the host
  std::string container;              // its path in the container ("/src" or "/src/linux-5.10.223.tar.xz")
  std::optional<std::string> sha256;  // known digest of a tarball (passed as --sha256)
  std::string origin;                 // for the log: the path or URL
};

// The image to run: its name in podman's storage, and what kbuild records as its reference and
// digest (KSIMG_IMAGE_REF, KSIMG_IMAGE_DIGEST).
struct ImageChoice {
  std::string name, ref, digest;
  std::string how;  // "--image", "images.lock.json pin", "layout", "built"
};

// A source the user gave: a directory is mounted at /src, a file at /src/<its name>. Throws
// UsageError naming the path when it does not exist.
SourcePlan given_source(const fs::path& path);

// Downloads the tarball of `v` from `mirror` (kernel.org layout) into `cache`: each candidate
// of mirror.hpp in turn, its digest from --sha256 when given, else from the directory's
// sha256sums.asc. IntegrityError when the bytes do not match, RuntimeError when no candidate
// could be fetched (naming the URLs).
SourcePlan download_source(http::Transport& t, const layers::DownloadCache& cache, const std::string& mirror,
                           const matrix::Version& v, const std::string& sha256);

// The kernel mirror: --mirror, else KSIMG_KERNEL_MIRROR, else kernel.org's CDN.
std::string kernel_mirror(const std::string& flag);

// The ccache dir: --ccache-dir, else <XDG_CACHE_HOME or ~/.cache>/ksimg/ccache/<image tag>.
fs::path ccache_dir(const std::string& flag, const std::string& image_tag);

// The output dir: -o, else ./kbuild-<version>-<arch>.
fs::path out_dir(const std::string& flag, const matrix::Version& v, const std::string& arch);

// --targets (a comma list) names only targets kbuild knows; UsageError naming the first
// unknown one and the allowed ones, before anything slow runs.
void check_targets(const std::string& list);

// The kbuild command line and the podman options that run it: source read-only at /src,
// output at /out and ccache (unless none: kbuild --no-ccache) at /ccache read-write,
// --config/--fragment files read-only under /in, network off, files owned by the caller (`euid`).
struct Invocation {
  std::vector<std::string> argv;
  run::RunOptions opts;
};
Invocation plan_invocation(const Request& r, const matrix::Version& v, const SourcePlan& src,
                           const fs::path& out, const std::optional<fs::path>& ccache, const ImageChoice& img,
                           unsigned euid);

}  // namespace ksimg::hostbuild
