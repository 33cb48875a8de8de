// `ksimg image index`: makes one multi-platform image (an OCI image index) out of images
// already in a layout, one per platform, and tags it like a single image. Each entry's
// platform is the one its config declares (image-spec image-index.md, config.md).
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "oci/index.hpp"
#include "oci/layout.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct IndexOpts {
  std::string layout, tag;
  std::vector<std::string> manifests;
  int64_t epoch = -1;
};

// The manifest `tag` names, with its platform; UsageError for a missing tag or an index.
oci::Descriptor platform_manifest(const oci::Layout& layout, const std::string& tag) {
  auto d = layout.find_tag(tag);
  if (!d)
    throw UsageError("--manifest " + tag + ": no such tag in " + layout.root().string() +
                     "; build it first with 'ksimg image build --platform ... --tag " + tag + "'");
  if (oci::is_index_media_type(d->media_type))
    throw UsageError("--manifest " + tag + " is already an index; give the single-platform images");
  d->platform = oci::manifest_platform(layout, *d);
  oci::parse_supported_platform(d->platform->str());
  return *d;
}

void run_index(const IndexOpts& o) {
  oci::validate_tag(o.tag);
  auto layout = oci::Layout::open(o.layout);
  std::vector<oci::Descriptor> children;
  for (const auto& t : o.manifests) children.push_back(platform_manifest(layout, t));
  int64_t epoch = o.epoch;
  if (epoch < 0) {
    const char* env = std::getenv("SOURCE_DATE_EPOCH");
    epoch = env && *env ? std::atoll(env) : 0;
  }
  auto index = oci::write_index(layout, children, epoch);
  layout.set_tag(o.tag, index);
  log::info("tagged " + o.tag + " in " + o.layout + " (" +
            oci::platform_names(oci::index_manifests(layout, index)) + ")");
  std::cout << index.digest.str() << "\n";
}

}  // namespace

void add_image_index(CLI::App& image) {
  auto o = std::make_shared<IndexOpts>();
  auto* c = image.add_subcommand(
      "index", "Make one multi-platform image (an OCI image index) from per-platform images of a layout");
  c->add_option("--layout", o->layout, "OCI image layout holding the images")->required();
  c->add_option("--tag", o->tag, "Tag to give the index (re-tagging replaces the old entry)")->required();
  c->add_option("--manifest", o->manifests,
                "Tag of one single-platform image in the layout (repeat: one per platform, "
                "linux/amd64 and linux/arm64)")
      ->required()
      ->allow_extra_args(false);
  c->add_option("--source-date-epoch", o->epoch,
                "org.opencontainers.image.created of the index, in seconds since 1970 "
                "(default: env SOURCE_DATE_EPOCH, else 0)")
      ->check(CLI::NonNegativeNumber);
  c->footer(
      "Example:\n"
      "  ksimg image build --platform linux/amd64 --layer amd64/ --tag k4-mipsel-amd64 --layout out/oci\n"
      "  ksimg image build --platform linux/arm64 --layer arm64/ --tag k4-mipsel-arm64 --layout out/oci\n"
      "  ksimg image index --layout out/oci --tag k4-mipsel --manifest k4-mipsel-amd64 --manifest "
      "k4-mipsel-arm64\n"
      "Entries are sorted by platform, so the same images always give the same index digest.\n"
      "Exit 2: a missing tag, a platform twice, or a platform other than linux/amd64, linux/arm64.");
  c->callback([o] { run_index(*o); });
}

}  // namespace ksimg::cli
