// `ksimg kbuild VERSION --arch A [...]` on the host (issue 6 item 6): resolves the cell as
// `ksimg resolve` does, finds its image (--image, the images.lock.json pin, the layout's tag,
// or builds it as `ksimg build --cell` does), gets the kernel source on the host, and runs the
// in-image kbuild with podman (kbuild_host.hpp), exiting with kbuild's exit code.
#include <unistd.h>

#include <iostream>

#include "cli/boot_test.hpp"
#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/kbuild_host.hpp"
#include "cli/render.hpp"
#include "cli/version_arg.hpp"
#include "kbuild/plan.hpp"
#include "layers/cell_build.hpp"
#include "layers/launcher.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/layout.hpp"
#include "run/builtin.hpp"
#include "store/image.hpp"
#if __has_include("registry/images_lock.hpp")
#include "registry/images_lock.hpp"
#define KSIMG_HAVE_IMAGES_LOCK 1
#endif
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::cli {

namespace {

namespace kh = kbuild_host;
namespace fs = std::filesystem;

struct KbuildOpts {
  kh::Request req;
  std::string platform;  // --platform: a multi-platform image's entry to run (default: this machine's)
  BuildOpts build;
  bool builtin = false;  // the runtime picked: builtin (store + bubblewrap), else podman
};

#ifdef KSIMG_HAVE_IMAGES_LOCK
// A tag of the layout whose manifest is `digest` (`tag` itself first), or "".
std::string layout_tag_with(const std::string& layout_dir, const std::string& tag,
                            const std::string& digest) {
  std::error_code ec;
  if (!fs::exists(fs::path(layout_dir) / "index.json", ec)) return "";
  auto layout = oci::Layout::open(layout_dir);
  if (auto d = layout.find_tag(tag); d && d->digest.str() == digest) return tag;
  for (const auto& t : layout.tags())
    if (auto d = layout.find_tag(t); d && d->digest.str() == digest) return t;
  return "";
}

// The pinned digest held locally: podman's storage under the pinned reference, else a layout
// tag with that digest (loaded into podman unless it has it). nullopt when neither has it.
std::optional<std::string> local_pinned(const KbuildOpts& o, const std::string& tag,
                                        const registry::Pin& pin) {
  if (!o.builtin && run::image_exists(pin.reference)) return pin.reference;
  std::string lt = layout_tag_with(o.req.layout, tag, pin.digest.str());
  if (lt.empty()) return std::nullopt;
  if (o.builtin) return lt;
  std::string name = run::local_name(lt);
  if (!run::image_exists(name) || run::image_field(name, "{{.Digest}}") != pin.digest.str())
    run::load(o.req.layout, lt);
  log::info("the pinned digest is in " + o.req.layout + " (tag " + lt + "); its registry is not contacted");
  return name;
}
#endif

// The pinned image for `tag`: the local copy of its digest, else pulled into podman's storage.
std::optional<kh::ImageChoice> pinned_image(const KbuildOpts& o, const std::string& tag) {
#ifndef KSIMG_HAVE_IMAGES_LOCK
  (void)o, (void)tag;
  return std::nullopt;
#else
  fs::path lock = o.req.images_lock.empty() ? registry::default_images_lock() : fs::path(o.req.images_lock);
  auto pin = registry::find_pin(lock, tag);
  if (!pin) return std::nullopt;
  auto name = local_pinned(o, tag, *pin);
  if (!name && o.builtin)
    throw RuntimeError("the pinned image " + pin->reference + " (entry \"" + tag + "\" of " + lock.string() +
                       ") is not in " + o.req.layout +
                       "; the built-in runtime runs layout images: `ksimg pull " + "--locked --cell " +
                       pin->cell + "` first, or --runtime podman");
  if (!name) {
    log::info("pulling pinned " + pin->reference);
    std::vector<std::string> argv{"podman", "pull", "--quiet", pin->reference};
    auto r = subprocess::run(argv);
    if (!r.ok())
      throw RuntimeError("cannot pull the pinned image " + pin->reference + " (entry \"" + tag + "\" of " +
                         lock.string() + "; neither podman nor " + o.req.layout +
                         " has its digest): " + subprocess::describe_failure(argv, r) +
                         "; fix that entry (`ksimg push --cell " + pin->cell +
                         "` re-pins it), log podman in to the registry, or pass --image or --images-lock ''");
    name = pin->reference;
  }
  std::string how = "images.lock.json pin";
  if (*name != pin->reference) how += " " + pin->reference + ", found in the layout";
  return kh::ImageChoice{*name, pin->reference, pin->digest.str(), how};
#endif
}

// Why the layout's image `tag` cannot run this ksimg's requests, or "": its launcher layer (the
// last) is not the one this ksimg would write (an older ksimg built it, so its kbuild may not
// know today's flags, or its data differs). When no kbuild lies next to ksimg, nothing to compare.
std::string stale_launcher(const oci::Layout& layout, const std::string& tag) {
  fs::path kbuild;
  try {
    kbuild = layers::find_kbuild();
  } catch (const Error& e) {
    log::debug(std::string("not checking the image's kbuild: ") + e.what());
    return "";
  }
  auto info = oci::inspect_image(layout, tag);
  int64_t epoch = -1;
  for (const auto& e : info.env)
    if (e.rfind("SOURCE_DATE_EPOCH=", 0) == 0) epoch = std::strtoll(e.c_str() + 18, nullptr, 10);
  if (info.layers.empty() || epoch < 0)
    return "it is not a kernelsmith cell image (no launcher layer or epoch)";
  auto want = layers::launcher_diff_id(kbuild, matrix::data_files(global().data_dir), epoch).str();
  if (info.layers.back().diff_id == want) return "";
  return "its kbuild or data is not this ksimg's (launcher layer " +
         info.layers.back().diff_id.substr(7, 12) + ", this ksimg's " + want.substr(7, 12) + ")";
}

// The layout's image for `tag`, loaded into podman's storage unless podman has that digest.
// With `stale` set, an image whose launcher layer is out of date is reported there instead.
std::optional<kh::ImageChoice> layout_image(const std::string& layout_dir, const std::string& tag,
                                            bool builtin, const std::string& platform,
                                            std::string* stale = nullptr) {
  std::error_code ec;
  if (!fs::exists(fs::path(layout_dir) / "index.json", ec)) return std::nullopt;
  auto layout = oci::Layout::open(layout_dir);
  auto desc = layout.find_tag(tag);
  if (!desc) return std::nullopt;
  auto want = platform.empty() ? oci::running_platform() : oci::parse_supported_platform(platform);
  if (builtin && !(want == oci::running_platform()))
    throw UsageError("--runtime builtin runs only this machine's platform (" + oci::running_platform().str() +
                     "), not " + want.str() + "; use --runtime podman for it (qemu-user binfmt)");
  auto entry = oci::select_platform(layout, *desc, want, "tag " + tag);  // a multi-platform image's entry
  if (stale && !(*stale = stale_launcher(layout, tag)).empty()) return std::nullopt;
  std::string name = run::local_name(tag), digest = entry.digest.str();
  if (builtin)
    return kh::ImageChoice{tag, std::string(image_repo()) + ":" + tag, digest, "layout " + layout_dir};
  bool current = run::image_exists(name) && run::image_field(name, "{{.Digest}}") == digest;
  if (!current) run::load(layout_dir, tag, entry.digest == desc->digest ? "" : want.architecture);
  return kh::ImageChoice{name, std::string(image_repo()) + ":" + tag, digest, "layout " + layout_dir};
}

kh::ImageChoice built_image(const KbuildOpts& o, const matrix::Resolution& res, bool stale) {
  log::info(res.image_tag + (stale ? " is out of date in " : " is not in ") + o.req.layout +
            "; building it (ksimg build --cell " + res.cell->key() + ")");
  auto transport = http::make_transport();
  std::optional<std::string> src;
  if (!o.req.source_kind.empty()) src = o.req.source_kind;
  layers::CellBuild b{build_context(o.build, *transport), res.cell->key(), src, layers::find_kbuild(), ""};
  layers::build_cell_image(b, oci::Layout::create(o.req.layout));
  auto img = layout_image(o.req.layout, res.image_tag, o.builtin, o.platform);
  if (!img) throw RuntimeError("built " + res.image_tag + " but " + o.req.layout + " has no such tag");
  img->how = "built into " + o.req.layout;
  return *img;
}

// --image, else the pin, else the layout's tag, else a fresh build.
kh::ImageChoice choose_image(const KbuildOpts& o, const matrix::Resolution& res) {
  if (!o.req.image.empty() && o.builtin) {
    auto l = layout_image(o.req.layout, o.req.image, true, o.platform);
    if (!l)
      throw UsageError(
          "--image " + o.req.image + " is not a tag of " + o.req.layout +
          "; with --runtime builtin, --image names a layout tag (ksimg pull --tag puts one there)");
    l->how = "--image";
    return *l;
  }
  if (!o.req.image.empty()) {
    if (!run::image_exists(o.req.image)) {
      auto r = subprocess::run({"podman", "pull", "--quiet", o.req.image});
      if (!r.ok())
        throw UsageError("image " + o.req.image + " is not in podman's storage and cannot be pulled");
    }
    return {o.req.image, o.req.image, run::image_field(o.req.image, "{{.Digest}}"), "--image"};
  }
  if (auto p = pinned_image(o, res.image_tag)) return *p;
  std::string stale;
  if (auto l = layout_image(o.req.layout, res.image_tag, o.builtin, o.platform, &stale)) return *l;
  if (!stale.empty())
    log::warn(res.image_tag + " in " + o.req.layout + " was built by another ksimg: " + stale +
              "; rebuilding it (its other layers come from the cache; --image " +
              run::local_name(res.image_tag) + " keeps the old one)");
  return built_image(o, res, !stale.empty());
}

// Refuses an image whose cell label names another cell (unless --force).
void check_image_cell(const KbuildOpts& o, const kh::ImageChoice& img, const matrix::Resolution& res) {
  bool force = o.req.force;
  std::string cell =
      o.builtin ? oci::inspect_image(oci::Layout::open(o.req.layout), img.name).labels["org.kernelsmith.cell"]
                : run::image_label(img.name, "org.kernelsmith.cell");
  if (cell.empty() || cell == res.cell->key()) return;
  std::string msg = "image " + img.name + " is for cell " + cell + ", but kernel " + res.version.str() +
                    " on " + res.arch + " needs cell " + res.cell->key() + " (" + image_repo() + ":" +
                    res.image_tag + ")";
  if (!force) throw UsageError(msg + "; drop --image, or pass --force to build it there anyway");
  log::warn(msg + "; building there anyway (--force)");
}

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

// The kernel source: --source, else downloaded into the download cache: with --sha256, from
// the source mirror first (--source-mirror), then from the kernel mirror.
kh::SourcePlan host_source(const KbuildOpts& o, const matrix::Version& v) {
  if (!o.req.source.empty()) return kh::given_source(o.req.source);
  layers::DownloadCache cache(layers::default_cache_root(o.build.cache));
  auto source_mirror = open_source_mirror(o.build.source_mirror);
  cache.mirror = source_mirror.get();
  auto transport = http::make_transport();
  return kh::download_source(*transport, cache, kh::kernel_mirror(o.req.mirror), v, o.req.sha256);
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs kbuild in the image (podman, or bwrap on the store checkout `prep`) and turns a failure
// into ksimg's error (kbuild's exit status).
void run_in_image(const kh::ImageChoice& img, const std::optional<store::PreparedImage>& prep,
                  const kh::Invocation& inv, const kh::Request& r, const fs::path& out) {
  int status = 0;
  if (prep) {
    log::debug("running: " + joined(run::bwrap_argv(*prep, inv.argv, inv.opts)));
    status = run::run_builtin_attached(*prep, inv.argv, inv.opts);
  } else {
    log::debug("running: " + joined(run::podman_run_argv(img.name, inv.argv, inv.opts)));
    status = run::run_attached(img.name, inv.argv, inv.opts);
  }
  if (status == 0) return boot_after_build(r, out);
  if (!prep)
    if (auto why = kh::podman_failure(status, img.name); !why.empty()) throw RuntimeError(why);
  if (prep && (status == 126 || status == 127))
    throw RuntimeError("bwrap could not run kbuild in " + img.name + " (exit " + std::to_string(status) +
                       ", its message is above); check `ksimg shell --runtime builtin --cell ...`");
  if (status > 128)
    throw Error(static_cast<Exit>(status), "the build was stopped by signal " + std::to_string(status - 128) +
                                               "; " + (out / "metadata.json").string() +
                                               " records how far it got");
  throw Error(static_cast<Exit>(status), "kbuild failed with exit status " + std::to_string(status) +
                                             " (its message is above; the log is " +
                                             (out / "build.log").string() + ")");
}

// --runtime: podman or builtin as asked (checked for use), else auto: podman when it answers
// here, else the built-in runtime, said once on stderr.
std::string pick_runtime(const std::string& flag) {
  if (flag == "podman") {
    run::require_podman();
    return flag;
  }
  if (flag == "builtin") {
    run::require_builtin();
    return flag;
  }
  auto why = run::podman_unusable();
  if (why.empty()) return "podman";
  if (auto no = run::builtin_unavailable(); !no.empty())
    throw RuntimeError("no runtime here: " + why + "; and " + no);
  log::info("runtime: builtin (bubblewrap), as " + why + "; --runtime podman forces podman");
  return "builtin";
}

void run(KbuildOpts& o) {
  auto& r = o.req;
  if (!o.platform.empty()) oci::parse_supported_platform(o.platform);  // exit 2 before anything slow
  if (r.source.empty() &&
      (r.version_arg.find('/') != std::string::npos || r.version_arg.find(".tar") != std::string::npos))
    r.source = r.version_arg;                         // `ksimg kbuild ./linux-5.10.223.tar.xz --arch mipsel`
  if (!r.source.empty()) kh::given_source(r.source);  // "does not exist" before anything slow
  matrix::Version v = version_from_arg(r.version_arg);
  auto res = check_request(r, v, matrix::get(global().data_dir));
  o.builtin = pick_runtime(r.runtime) == "builtin";
  auto img = choose_image(o, res);
  check_image_cell(o, img, res);
  log::info("image " + img.name + " (" + img.how + ")");
  std::optional<store::PreparedImage> prep;
  if (o.builtin) {
    auto st = store::Store::open(r.store.empty() ? store::default_root() : fs::path(r.store));
    prep = store::prepare_image(st, oci::Layout::open(r.layout), img.name);
    log::info("runtime builtin: " + prep->root.string());
  }
  kh::SourcePlan src = host_source(o, v);
  fs::path out = kh::out_dir(r.out, v, r.arch);
  fs::create_directories(out);
  std::optional<fs::path> ccache;  // none with --no-ccache: nothing mounted, kbuild compiles without
  if (!r.no_ccache) {
    ccache = kh::ccache_dir(r.ccache_dir, res.image_tag);
    fs::create_directories(*ccache);
  }
  run_in_image(img, prep, kh::plan_invocation(r, v, src, out, ccache, img, static_cast<unsigned>(geteuid())),
               r, out);
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
  sub->add_option("--targets", r.targets, "Comma list of vmlinux,image,modules,dtbs,headers,devel");
  sub->add_option("-j,--jobs", r.jobs, "Parallel jobs (default: the CPUs available)");
  sub->add_option("--ccache-dir", r.ccache_dir, "ccache dir (default ~/.cache/ksimg/ccache/<image tag>)");
  sub->add_flag("--no-ccache", r.no_ccache, "Compile without ccache (no ccache dir is mounted)");
  sub->add_option("--ccache-remote", r.ccache_remote,
                  "Share ccache results through remote storage: redis://HOST:PORT (the build then uses the "
                  "host's network), redis+unix:///SOCKET (mounted; network stays off), http(s)://URL");
  sub->add_option("-s,--source-kind", r.source_kind,
                  "Toolchain source for the cell: debian, bootlin or script");
  sub->add_option("--image", r.image, "Run this image (podman name or reference) instead of the cell's");
  sub->add_option("--platform", o.platform,
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
      "store (ksimg store), checked out by hardlinks and run under bubblewrap with the network off.\n\n"
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
