// The image `ksimg kbuild` runs (hostbuild.hpp): --image (a podman name, or with builtin a
// layout tag), else the images.lock.json pin (the local copy of its digest, else pulled), else
// the layout's tag (loaded into podman unless it has that digest; rebuilt when an older ksimg
// built it), else built from the lock. Moved out of the cli: building needs layers.
#include <filesystem>
#include <optional>

#include "hostbuild/hostbuild.hpp"
#include "layers/cell_build.hpp"
#include "layers/launcher.hpp"
#include "matrix/data.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/layout.hpp"
#include "registry/images_lock.hpp"
#define KSIMG_HAVE_IMAGES_LOCK 1
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::hostbuild {

namespace {

// The image repository name (the cli's image_repo()).
constexpr const char* image_repo = "kernelsmith";

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
std::optional<std::string> local_pinned(const Ctx& o, const std::string& tag, const registry::Pin& pin) {
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
std::optional<ImageChoice> pinned_image(const Ctx& o, const std::string& tag) {
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
  return ImageChoice{*name, pin->reference, pin->digest.str(), how};
#endif
}

// Why the layout's image `tag` cannot run this ksimg's requests, or "": its launcher layer (the
// last) is not the one this ksimg would write (an older ksimg built it, so its kbuild may not
// know today's flags, or its data differs). When no kbuild lies next to ksimg, nothing to compare.
std::string stale_launcher(const oci::Layout& layout, const std::string& tag, const std::string& data_dir) {
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
  auto want = layers::launcher_diff_id(kbuild, matrix::data_files(data_dir), epoch).str();
  if (info.layers.back().diff_id == want) return "";
  return "its kbuild or data is not this ksimg's (launcher layer " +
         info.layers.back().diff_id.substr(7, 12) + ", this ksimg's " + want.substr(7, 12) + ")";
}

// The layout's image for `tag` (a multi-platform image's entry for `platform`, default this
// machine's), loaded into podman's storage unless podman has that digest. With `stale` set, an
// image whose launcher layer is out of date (against the data of `data_dir`) is reported there
// instead.
std::optional<ImageChoice> layout_image(const std::string& layout_dir, const std::string& tag, bool builtin,
                                        const std::string& platform, std::string* stale = nullptr,
                                        const std::string& data_dir = "") {
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
  if (stale && !(*stale = stale_launcher(layout, tag, data_dir)).empty()) return std::nullopt;
  std::string name = run::local_name(tag), digest = entry.digest.str();
  if (builtin) return ImageChoice{tag, std::string(image_repo) + ":" + tag, digest, "layout " + layout_dir};
  bool current = run::image_exists(name) && run::image_field(name, "{{.Digest}}") == digest;
  if (!current) run::load(layout_dir, tag, entry.digest == desc->digest ? "" : want.architecture);
  return ImageChoice{name, std::string(image_repo) + ":" + tag, digest, "layout " + layout_dir};
}

ImageChoice built_image(const Ctx& o, const matrix::Resolution& res, bool stale) {
  log::info(res.image_tag + (stale ? " is out of date in " : " is not in ") + o.req.layout +
            "; building it (ksimg build --cell " + res.cell->key() + ")");
  auto transport = http::make_transport();
  std::optional<std::string> src;
  if (!o.req.source_kind.empty()) src = o.req.source_kind;
  layers::CellBuild b{o.host.build_context(*transport), res.cell->key(), src, layers::find_kbuild(), ""};
  layers::build_cell_image(b, oci::Layout::create(o.req.layout));
  auto img = layout_image(o.req.layout, res.image_tag, o.builtin, o.req.platform);
  if (!img) throw RuntimeError("built " + res.image_tag + " but " + o.req.layout + " has no such tag");
  img->how = "built into " + o.req.layout;
  return *img;
}

}  // namespace

// --image, else the pin, else the layout's tag, else a fresh build.
ImageChoice choose_image(const Ctx& o, const matrix::Resolution& res) {
  if (!o.req.image.empty() && o.builtin) {
    auto l = layout_image(o.req.layout, o.req.image, true, o.req.platform);
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
  if (auto l = layout_image(o.req.layout, res.image_tag, o.builtin, o.req.platform, &stale, o.host.data_dir))
    return *l;
  if (!stale.empty())
    log::warn(res.image_tag + " in " + o.req.layout + " was built by another ksimg: " + stale +
              "; rebuilding it (its other layers come from the cache; --image " +
              run::local_name(res.image_tag) + " keeps the old one)");
  return built_image(o, res, !stale.empty());
}

// Refuses an image whose cell label names another cell (unless --force).
void check_image_cell(const Ctx& o, const ImageChoice& img, const matrix::Resolution& res) {
  bool force = o.req.force;
  std::string cell =
      o.builtin ? oci::inspect_image(oci::Layout::open(o.req.layout), img.name).labels["org.kernelsmith.cell"]
                : run::image_label(img.name, "org.kernelsmith.cell");
  if (cell.empty() || cell == res.cell->key()) return;
  std::string msg = "image " + img.name + " is for cell " + cell + ", but kernel " + res.version.str() +
                    " on " + res.arch + " needs cell " + res.cell->key() + " (" + image_repo + ":" +
                    res.image_tag + ")";
  if (!force) throw UsageError(msg + "; drop --image, or pass --force to build it there anyway");
  log::warn(msg + "; building there anyway (--force)");
}

}  // namespace ksimg::hostbuild
