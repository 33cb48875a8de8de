// `ksimg image build`: assembles an OCI image from directories and archives, one layer per
// --layer, into an OCI image layout, and prints the manifest digest (oci module; see
// README "Images and layers" and OCI image-spec image-layout.md).
#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "oci/image.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct BuildOpts {
  std::vector<std::string> layers, env, labels, annotations, cmd, entrypoint;
  std::string tag, layout, compression = "gzip", platform, epoch, source, revision, version;
  bool keep_owners = false;
};

int64_t source_date_epoch(const std::string& flag) {
  std::string text = flag, from = "--source-date-epoch";
  if (text.empty()) {
    const char* env = std::getenv("SOURCE_DATE_EPOCH");
    if (!env || !*env) return 0;
    text = env;
    from = "SOURCE_DATE_EPOCH";
  }
  bool ok = !text.empty() && text.size() <= 12 && text.find_first_not_of("0123456789") == std::string::npos;
  if (!ok)
    throw UsageError(from + " must be whole seconds since 1970-01-01 UTC, e.g. 1700000000 (got '" + text +
                     "')");
  return std::stoll(text);
}

std::map<std::string, std::string> key_values(const std::vector<std::string>& items, const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& kv : items) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(std::string(flag) + " '" + kv + "': expected KEY=VALUE with a non-empty KEY");
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

oci::ImageSpec image_spec(const BuildOpts& o, int64_t epoch) {
  oci::ImageSpec spec;
  if (!o.platform.empty()) spec.platform = oci::Platform::parse(o.platform);
  for (const auto& kv : o.env) oci::validate_env(kv);
  spec.env = o.env;
  spec.cmd = o.cmd;
  spec.entrypoint = o.entrypoint;
  spec.labels = key_values(o.labels, "--label");
  spec.annotations = key_values(o.annotations, "--annotation");
  spec.source = o.source;
  spec.revision = o.revision;
  spec.version = o.version;
  spec.created = epoch;
  return spec;
}

void check_sources(const std::vector<std::string>& layers, const std::string& layout) {
  namespace fs = std::filesystem;
  std::string out = fs::weakly_canonical(layout).string() + "/";
  for (const auto& l : layers) {
    if (!fs::exists(l))
      throw UsageError("--layer " + l + " does not exist; give a directory or an archive file");
    std::string src = fs::canonical(l).string() + "/";
    if (fs::is_directory(l) && out.compare(0, src.size(), src) == 0)
      throw UsageError("--layout " + layout + " lies inside --layer " + l +
                       ", which would then contain the image being built; put the layout elsewhere");
  }
}

void run_build(const BuildOpts& o) {
  oci::validate_tag(o.tag);
  int64_t epoch = source_date_epoch(o.epoch);
  oci::ImageSpec spec = image_spec(o, epoch);
  check_sources(o.layers, o.layout);
  auto layout = oci::Layout::create(o.layout);
  oci::LayerOptions lo;
  lo.source_date_epoch = epoch;
  lo.compression = oci::parse_compression(o.compression);
  lo.keep_owners = o.keep_owners;
  lo.spool_dir = layout.temp_dir();
  log::debug("compression: " + oci::compression_profile(lo.compression));
  std::vector<oci::LayerResult> layers;
  for (size_t i = 0; i < o.layers.size(); ++i) {
    lo.progress_label = "write layer " + std::to_string(i + 1) + " (" + o.layers[i] + ")";
    oci::LayerWriter w(lo);
    w.add_path(o.layers[i]);
    auto r = w.write(layout);
    log::info("layer " + std::to_string(i + 1) + ": " + r.descriptor.digest.str() + " (" +
              std::to_string(r.descriptor.size) + " bytes, " + std::to_string(r.entries) +
              " entries, diff_id " + r.diff_id.str() + ")");
    layers.push_back(std::move(r));
    spec.created_by.push_back("ksimg image build");
  }
  auto img = oci::assemble_image(layout, spec, layers);
  layout.set_tag(o.tag, img.manifest);
  log::info("tagged " + o.tag + " in " + o.layout);
  std::cout << img.manifest.digest.str() << "\n";
}

void add_build(CLI::App& image) {
  auto o = std::make_shared<BuildOpts>();
  auto* b = image.add_subcommand("build",
                                 "Build an image into an OCI layout from directories and archives, "
                                 "one layer per --layer, and print its manifest digest");
  b->add_option("--layer", o->layers,
                "A directory or an archive (tar, .gz, .xz, .zst, .bz2, .deb); repeat for "
                "more layers, bottom first")
      ->required()
      ->allow_extra_args(false);
  b->add_option("--tag", o->tag, "Tag to give the image in the layout (re-tagging replaces the old entry)")
      ->required();
  b->add_option("--layout", o->layout, "OCI image layout directory (created when missing)")->required();
  b->add_option("--env", o->env, "Environment entry KEY=VALUE (repeatable)")->allow_extra_args(false);
  b->add_option("--label", o->labels, "Config label KEY=VALUE (repeatable)")->allow_extra_args(false);
  b->add_option("--annotation", o->annotations, "Manifest annotation KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  b->add_option("--cmd", o->cmd,
                "One Cmd argument (repeatable; use --cmd=--flag for arguments starting with -)")
      ->allow_extra_args(false);
  b->add_option("--entrypoint", o->entrypoint, "One Entrypoint argument (repeatable)")
      ->allow_extra_args(false);
  b->add_option(
       "--compression", o->compression,
       "Layer compression: gzip (default; libdeflate level 6, 1 MiB slices, see docs/oci.md) or zstd")
      ->check(CLI::IsMember({"gzip", "zstd"}));
  b->add_option("--source-date-epoch", o->epoch,
                "Creation time and mtime clamp, in seconds since 1970 "
                "(default: env SOURCE_DATE_EPOCH, else 0)");
  b->add_option("--platform", o->platform,
                "OS/ARCH[/VARIANT] for the config (default: this host's, e.g. linux/amd64)");
  b->add_option("--source", o->source,
                "org.opencontainers.image.source annotation (e.g. the repository URL)");
  b->add_option("--revision", o->revision, "org.opencontainers.image.revision annotation (e.g. a commit)");
  b->add_option("--image-version", o->version, "org.opencontainers.image.version annotation");
  b->add_flag("--keep-owners", o->keep_owners, "Keep numeric file owners instead of 0:0");
  b->footer(
      "Example:\n"
      "  ksimg image build --layer base/ --layer toolchain.tar.zst --env PATH=/opt/tc/bin:/usr/bin:/bin \\\n"
      "      --cmd kbuild --cmd=--help --label org.example.era=k3 --tag k3-mipsel --layout out/oci\n"
      "The same inputs and SOURCE_DATE_EPOCH give the same digests on any machine.");
  b->callback([o] { run_build(*o); });
}

}  // namespace

void add_image(CLI::App& app) {
  auto* image =
      app.add_subcommand("image", "Assemble OCI images (layers, config, manifest) without a daemon");
  image->require_subcommand(1);
  image->footer(
      "Example:\n  ksimg image build --layer rootfs/ --tag dev --layout out/oci\nSee 'ksimg image build "
      "--help'.");
  add_build(*image);
  add_image_check(*image);
  add_image_index(*image);
}

}  // namespace ksimg::cli
