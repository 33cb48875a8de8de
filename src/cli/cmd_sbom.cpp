// `ksimg sbom --cell C` and `ksimg sbom REG/NS/kernelsmith:TAG`: the CycloneDX 1.5 SBOM of a
// cell image, from the lock (layers/sbom.hpp), or found back in a registry as the image's OCI
// 1.1 referrer (registry/referrers.hpp: the referrers API, else the `sha256-<hex>` tag schema).
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "cli/sbom.hpp"
#include "layers/cell_build.hpp"
#include "layers/cell_image.hpp"
#include "layers/cell_inputs.hpp"
#include "layers/sbom.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "registry/reference.hpp"
#include "registry/referrers.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace fs = std::filesystem;

namespace {

// The layout's image of `tag`: its digest and launcher into `in`, after checking its inputs label
// against the lock (an image built from another lock would get a wrong SBOM).
void from_layout(layers::SbomInput& in, const std::string& layout_dir, const layers::BuildContext& ctx) {
  std::error_code ec;
  if (!fs::exists(fs::path(layout_dir) / "index.json", ec)) return;
  auto layout = oci::Layout::open(layout_dir);
  auto d = layout.find_tag(in.tag);
  if (!d) return;
  oci::Platform platform{"linux", in.host_arch, ""};
  if (oci::is_index_media_type(d->media_type)) {
    bool listed = false;
    for (const auto& m : oci::index_manifests(layout, *d))
      listed = listed || (m.platform && m.platform->architecture == in.host_arch);
    if (!listed) return;  // the layout's index has no such image: the SBOM comes from the lock alone
  }
  auto info = oci::inspect_image(layout, in.tag, platform);
  if (info.layers.empty() || info.platform.architecture != in.host_arch) return;
  in.image_digest = info.manifest.digest.str();
  in.launcher_diff_id = info.layers.back().diff_id;
  auto label = info.labels.find(layers::kInputsLabel);
  if (label == info.labels.end()) return;
  int64_t epoch = ctx.lock->source_date_epoch;
  for (const auto& e : info.env)
    if (e.rfind("SOURCE_DATE_EPOCH=", 0) == 0) epoch = std::strtoll(e.c_str() + 18, nullptr, 10);
  auto comp = info.layers.front().descriptor.media_type.find("zstd") != std::string::npos
                  ? oci::Compression::zstd
                  : oci::Compression::gzip;
  auto want = layers::cell_inputs_sha256(*ctx.lock, in.recipe->name, epoch,
                                         oci::Digest::parse(in.launcher_diff_id), comp, in.host_arch);
  if (want != label->second)
    throw UsageError(in.tag + " in " + layout_dir + " was not built from this lock (inputs " +
                     label->second.substr(0, 12) + ", the lock's " + want.substr(0, 12) +
                     "); pass the lock it was built from (--lock) or rebuild it");
}

// Prints the SBOM that refers to the image `ref` in its registry; of a multi-platform image, the
// one that refers to its `platform` entry.
void from_registry(const std::string& text, const RegistryFlags& f, const oci::Platform& platform) {
  auto ref = registry::parse_reference(text);
  auto reg = open_registry(ref.registry, f);
  auto subject = registry::platform_descriptor(*reg, ref.repository, ref.manifest_ref(), platform);
  bool api = false;
  auto found =
      registry::list_referrers(*reg, ref.repository, subject.digest, layers::kCycloneDxMediaType, &api);
  if (found.empty())
    throw RuntimeError("no CycloneDX SBOM refers to " + ref.repository + "@" + subject.digest.str() + " on " +
                       ref.registry + "; 'ksimg push --cell C' pushes one with the image");
  log::info("SBOM " + found.back().digest.str() + " found by the " +
            (api ? "referrers API" : "referrers tag schema"));
  std::cout << registry::artifact_blob(*reg, ref.repository, found.back());
}

struct SbomOpts {
  std::string ref, cell, source, layout, platform;
  BuildOpts build;
  RegistryFlags reg;
};

}  // namespace

nlohmann::ordered_json cell_sbom(const BuildOpts& b, const std::string& layout_dir, const std::string& cell,
                                 const std::optional<std::string>& source, const std::string& host_arch) {
  auto t = http::make_transport();
  auto ctx = build_context(b, *t);
  if (!ctx.lock)
    throw UsageError("no lock file " + b.lock_file + ": the SBOM comes from the lock; run 'ksimg lock'");
  const auto& m = matrix::get(global().data_dir);
  auto choice = matrix::resolve_cell(m, cell, source);
  layers::SbomInput in{choice.cell, choice.recipe, choice.image_tag, &*ctx.lock, "", "", "0.1.0", host_arch};
  from_layout(in, layout_dir, ctx);
  return layers::cyclonedx_sbom(in);
}

void add_sbom(CLI::App& app) {
  auto o = std::make_shared<SbomOpts>();
  auto* sub = app.add_subcommand(
      "sbom", "Print the CycloneDX 1.5 SBOM of a cell image (from the lock, or from a registry)");
  sub->add_option("REF", o->ref,
                  "An image in a registry (REG/NS/kernelsmith:TAG): print the SBOM that refers to it");
  sub->add_option("-c,--cell", o->cell, "Cell ERA/ARCH: the SBOM of its image, from the lock");
  sub->add_option("-s,--source", o->source, "Toolchain source for cells that offer several");
  sub->add_option(
      "--platform", o->platform,
      "The image of this host platform, linux/amd64 or linux/arm64 (default: this machine's where "
      "the cell has it, else linux/amd64)");
  add_layout_option(sub, o->layout);
  add_build_options(sub, o->build);
  add_registry_flags(sub, o->reg);
  sub->footer(
      "Lists every component with its layer: the base's and a Debian toolchain's packages (purls with\n"
      "the suite each came from, e.g. distro=debian-11 for bullseye), tarball and script toolchains\n"
      "with their pinned inputs, and the launcher. With --cell the image's digest is added when the\n"
      "layout holds it (and it must have been built from this lock). 'ksimg push' pushes the SBOM as\n"
      "an OCI 1.1 referrer of the image; REF finds it back (referrers API, else the sha256-<hex> tag).\n"
      "A multi-platform image (an index) has one SBOM per platform, referring to that platform's\n"
      "manifest and listing its packages (arm64 builds of the same versions on linux/arm64).\n\n"
      "Examples:\n"
      "  ksimg sbom --cell k4/mipsel > k4-mipsel.cdx.json\n"
      "  ksimg sbom --cell k6/mipsel --platform linux/arm64\n"
      "  ksimg sbom 127.0.0.1:5000/ns/kernelsmith:k4-mipsel");
  sub->callback([o] {
    if (o->ref.empty() == o->cell.empty())
      throw UsageError("give an image REF or --cell ERA/ARCH (one of them)");
    if (!o->ref.empty())
      return from_registry(
          o->ref, o->reg,
          o->platform.empty() ? oci::running_platform() : oci::parse_supported_platform(o->platform));
    auto src = o->source.empty() ? std::nullopt : std::optional<std::string>(o->source);
    std::string arch = "amd64";
    if (!o->platform.empty())
      arch = oci::parse_supported_platform(o->platform).architecture;
    else if (oci::running_platform().architecture != "amd64" &&
             matrix::resolve_cell(matrix::get(global().data_dir), o->cell, src).recipe->no_arm64.empty())
      arch = oci::running_platform().architecture;
    std::cout << cell_sbom(o->build, o->layout, o->cell, src, arch).dump(2) << "\n";
  });
}

}  // namespace ksimg::cli
