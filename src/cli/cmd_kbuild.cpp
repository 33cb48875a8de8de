// `ksimg kbuild VERSION --arch A [...]` on the host: resolves the cell as
// `ksimg resolve` does, finds its image (--image, the images.lock.json pin, the layout's tag,
// or builds it as `ksimg build --cell` does), gets the kernel source on the host, and runs the
// in-image kbuild with podman or the built-in runtime (src/hostbuild, run::Runtime), exiting
// with kbuild's exit code. This file binds the flags and checks them before anything slow.
#include <unistd.h>

#include <iostream>

#include "cli/boot_test.hpp"
#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "cli/version_arg.hpp"
#include "hostbuild/hostbuild.hpp"
#include "kbuild/plan.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "run/boot.hpp"
#include "run/runtime.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::cli {

namespace {

namespace kh = hostbuild;
namespace fs = std::filesystem;

struct KbuildOpts {
  kh::Request req;
  BuildOpts build;
};

// --boot-config and --boot-test, checked before anything slow: the conflicts, the cell's boot
// settings (the host's matrix, handed to the in-image kbuild so both agree), qemu on PATH.
void check_boot_flags(kh::Request& r, const matrix::Matrix& m, const matrix::Resolution& res) {
  if (r.boot_config) {
    if (!r.defconfig.empty() || !r.config.empty())
      throw UsageError(std::string("--boot-config and ") + (r.config.empty() ? "--defconfig" : "--config") +
                       " exclude each other: the boot config brings its own defconfig; drop one");
    r.boot_config_data =
        kbuild::boot_config_json(kbuild::boot_config(m, res.cell->era, res.cell->arch, res.version));
  }
  if (!r.boot_test || r.dry_run) return;
  if (auto why = run::qemu_missing(m, res.cell->era, res.cell->arch); !why.empty())
    throw RuntimeError("--boot-test: " + why + "; or build without --boot-test");
}

// After a successful build: the boot test, in-process, as `ksimg boot-test OUT` runs it.
void boot_after_build(const kh::Request& r, const fs::path& out) {
  if (!r.boot_test || r.dry_run) return;
  auto b = boot_output_dir(out.string());
  if (b.ok() || b.status == "build-only") return;
  throw Error(static_cast<Exit>(run::boot_failed_exit), "the kernel built, but its boot test " + b.status +
                                                            ": " + b.reason + " (log: " + b.log.string() +
                                                            "; metadata.json has \"boot\")");
}

// What can be checked before anything slow (the image, the download): --targets names known
// targets, the flags agree, the cell resolves. Returns the cell.
matrix::Resolution check_request(kh::Request& r, const matrix::Version& v, const matrix::Matrix& m) {
  kh::check_targets(r.targets);
  if (r.no_ccache && !r.ccache_dir.empty())
    throw UsageError("--no-ccache and --ccache-dir exclude each other; drop one");
  if (r.no_ccache && !r.ccache_remote.empty())
    throw UsageError("--no-ccache and --ccache-remote exclude each other; drop one");
  std::optional<std::string> kind;
  if (!r.source_kind.empty()) kind = r.source_kind;
  auto res = matrix::resolve(m, v, r.arch, kind);
  log::info("kernel " + v.str() + " on " + r.arch + ": cell " + res.cell->key() + ", image " + res.image_tag);
  check_boot_flags(r, m, res);
  return res;
}

void run(KbuildOpts& o) {
  auto& r = o.req;
  if (!r.platform.empty()) oci::parse_supported_platform(r.platform);  // exit 2 before anything slow
  if (r.source.empty() &&
      (r.version_arg.find('/') != std::string::npos || r.version_arg.find(".tar") != std::string::npos))
    r.source = r.version_arg;                         // `ksimg kbuild ./linux-5.10.223.tar.xz --arch mipsel`
  if (!r.source.empty()) kh::given_source(r.source);  // "does not exist" before anything slow
  matrix::Version v = version_from_arg(r.version_arg);
  auto res = check_request(r, v, matrix::get(global().data_dir));
  auto rt = run::pick_runtime(r.runtime, r.store);
  kh::Host host{global().data_dir, o.build.cache, open_source_mirror(o.build.source_mirror),
                [&o](http::Transport& t) { return build_context(o.build, t); }};
  boot_after_build(r, kh::kbuild_on_host(r, host, *rt, v, res));
}

void add_flags(CLI::App* sub, KbuildOpts& o) {
  auto& r = o.req;
  sub->add_option("VERSION", r.version_arg, "Kernel version (5.10.223), or a kernel tree or tarball")
      ->required();
  sub->add_option("-a,--arch", r.arch, "Target arch (ksimg matrix lists them), e.g. mipsel")->required();
  sub->add_option("--source", r.source,
                  "Kernel tree or tarball on the host (mounted read-only); default: download from --mirror");
  sub->add_option("-o,--out", r.out, "Output dir (default ./kbuild-VERSION-ARCH; its build/ is reused)");
  sub->add_option("--defconfig", r.defconfig, "Defconfig target (default: the era's defconfig for the arch)");
  sub->add_option("--config", r.config, "A full .config file (normalised with olddefconfig)");
  sub->add_option("--enable", r.enable, "Set CONFIG_SYM=y (repeatable)");
  sub->add_option("--disable", r.disable, "Turn CONFIG_SYM off (repeatable)");
  sub->add_option("--fragment", r.fragments, "Config fragment file, merged in order (repeatable)");
  sub->add_flag("--config-strict", r.config_strict,
                "Fail when the config names symbols the tree does not know");
  sub->add_option(
      "--targets", r.targets,
      "Comma list of vmlinux,image,modules,dtbs,headers,devel,initramfs (initramfs: a static /init "
      "built by the cell's gcc, packed as OUT/initramfs.cpio.gz)");
  sub->add_option("--init-abi", r.init_abi,
                  "Build the initramfs target's /init for a compat ABI of the cell's toolchain (x86_64 "
                  "cells: i386), e.g. to boot-test a 64-bit kernel with 32-bit userland");
  sub->add_option("-j,--jobs", r.jobs, "Parallel jobs (default: the CPUs available)");
  sub->add_option("--ccache-dir", r.ccache_dir, "ccache dir (default ~/.cache/ksimg/ccache/<image tag>)");
  sub->add_flag("--no-ccache", r.no_ccache, "Compile without ccache (no ccache dir is mounted)");
  sub->add_option("--ccache-remote", r.ccache_remote,
                  "Share ccache results through remote storage: redis://HOST:PORT or http(s)://URL (the "
                  "build then uses the host's network, with either runtime), redis+unix:///SOCKET "
                  "(mounted; network stays off)");
  sub->add_option("-s,--source-kind", r.source_kind,
                  "Toolchain source for the cell: debian, bootlin or script");
  sub->add_option("--image", r.image, "Run this image (podman name or reference) instead of the cell's");
  sub->add_option("--platform", r.platform,
                  "For a multi-platform cell image: run its linux/amd64 or linux/arm64 entry (default: "
                  "this machine's, from uname -m; another one runs under qemu-user binfmt)");
  sub->add_option("--images-lock", r.images_lock,
                  "Pinned images (env KSIMG_IMAGES_LOCK; default ./images.lock.json)");
  sub->add_option("--mirror", r.mirror,
                  "kernel.org-layout mirror root (env KSIMG_KERNEL_MIRROR; default "
                  "https://cdn.kernel.org/pub/linux/kernel)");
  sub->add_option("--sha256", r.sha256,
                  "Expected sha256 of the downloaded tarball (else from sha256sums.asc)");
  sub->add_flag("--force", r.force, "Build in an image of another cell (loudly)");
  sub->add_flag("--boot-config", r.boot_config,
                "Configure with the cell's boot config (matrix/arches.json boot.<era>: defconfig + enable + "
                "disable); --enable/--disable add to it");
  sub->add_flag(
      "--boot-test", r.boot_test,
      "After the build, boot the kernel in qemu as `ksimg boot-test OUT` does (exit 5 if it does not boot)");
  sub->add_flag("--dry-run", r.dry_run, "Print kbuild's plan (quirks, config steps, make commands) and exit");
  sub->add_flag("-t,--tty", r.tty, "Give the build a terminal (podman --tty)");
  sub->add_option("--runtime", r.runtime,
                  "podman, builtin (the image checked out of the store, run under bubblewrap) or auto "
                  "(podman when it works here, else builtin)")
      ->check(CLI::IsMember({"auto", "podman", "builtin"}))
      ->capture_default_str();
  sub->add_option("--store", r.store,
                  "Tree store of the built-in runtime (env KSIMG_STORE; default "
                  "$XDG_DATA_HOME/ksimg/store)");
  add_layout_option(sub, r.layout);
  add_build_options(sub, o.build);
}

}  // namespace

void add_kbuild(CLI::App& app) {
  auto o = std::make_shared<KbuildOpts>();
  auto* sub = app.add_subcommand(
      "kbuild",
      "Build a kernel in its cell image with podman or the built-in runtime (source read-only, network off)");
  add_flags(sub, *o);
  sub->footer(
      "The image: --image, else the images.lock.json pin, else the layout's tag (rebuilt first when an\n"
      "older ksimg built it: its kbuild is not this one's), else built from the lock.\n"
      "The source: --source, else downloaded on the host from the mirror and checked against its\n"
      "sha256sums.asc (cached). Exit status: kbuild's (0 ok, 1 build failed, 2 usage or wrong cell,\n"
      "3 integrity, 4 data), or 5 when --boot-test's boot failed after a successful build; 1 when\n"
      "the runtime cannot run here (the message names the package or sysctl).\n"
      "The runtime (--runtime): podman, or builtin: the layout image's layers imported once into the\n"
      "store (ksimg store), checked out by hardlinks and run under bubblewrap with the network off\n"
      "(both runtimes give the build the host's network, 127.0.0.1 included, for --ccache-remote\n"
      "redis:// or http(s)://).\n\n"
      "Examples:\n"
      "  ksimg kbuild 5.10.223 --arch mipsel\n"
      "  ksimg kbuild 5.10.223 --arch mipsel --runtime builtin   # no podman needed\n"
      "  ksimg kbuild 5.10.223 --arch mipsel --defconfig tinyconfig --enable CPU_LITTLE_ENDIAN -o out\n"
      "  ksimg kbuild 5.10.223 --arch arm64 --boot-config --boot-test -o out   # build what boots, boot it\n"
      "  ksimg kbuild 4.14.336 --arch arm64 --source ~/src/linux-4.14.336.tar.xz --config my.config -j8\n"
      "  KSIMG_KERNEL_MIRROR=http://127.0.0.1:8080 ksimg kbuild 5.10.223 --arch mipsel --targets vmlinux\n"
      "  ksimg kbuild 5.10.223 --arch mipsel --ccache-remote redis://127.0.0.1:6379   # runners share "
      "objects");
  sub->callback([o] { run(*o); });
}

}  // namespace ksimg::cli
