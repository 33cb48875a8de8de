// `ksimg push`: cell images from the OCI layout (built first when missing) to
// REG/NS/kernelsmith:<tag> with registry::push_image (distribution-spec v1.1 push: blobs,
// then the manifest by digest, then tags), recording each pin in images.lock.json.
#include <iostream>
#include <set>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "cli/sbom.hpp"
#include "cli/transfer_view.hpp"
#include "layers/cell_build.hpp"
#include "layers/cell_image.hpp"
#include "layers/cell_inputs.hpp"
#include "layers/launcher.hpp"
#include "layers/sbom.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/layer.hpp"
#include "registry/credentials.hpp"
#include "registry/push.hpp"
#include "registry/reference.hpp"
#include "registry/referrers.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace ksimg::cli {

void add_pull(CLI::App& app);  // cmd_pull.cpp

std::unique_ptr<registry::Registry> open_registry(const std::string& host, const RegistryFlags& f) {
  registry::RegistryOptions o;
  o.registry = host;
  o.tls_verify = f.tls_verify;
  if (!f.ca_file.empty()) o.ca_file = f.ca_file;
  o.credential = registry::find_credential(host);
  auto r = std::make_unique<registry::Registry>(o);
  r->ping();
  return r;
}

namespace {

struct PushOpts {
  std::vector<std::string> cells, tags;
  bool all = false;
  std::string to, source, layout, revision;
  uint64_t chunk_size = 0;
  RegistryFlags reg;
  BuildOpts build;
};

struct Item {
  std::string cell, tag;
};

// The cell whose default image tag is `tag` ("k4-mipsel" -> "k4/mipsel"), or "".
std::string cell_of_tag(const matrix::Matrix& m, const std::string& tag) {
  for (const auto& e : m.eras)
    for (const auto& a : m.arch_order) {
      const auto& c = m.cell(e.name, a);
      if (c.unsupported) continue;
      if (matrix::resolve_cell(m, c.key()).image_tag == tag) return c.key();
    }
  return "";
}

// The images to push: cells (their tags; built when missing) and layout tags.
std::vector<Item> select(const PushOpts& o) {
  if (o.all + !o.cells.empty() + !o.tags.empty() != 1)
    throw UsageError("give --cell ERA/ARCH (repeatable), --all, or --tag TAG (repeatable)");
  const auto& m = matrix::get(global().data_dir);
  std::vector<std::string> cells = o.cells;
  if (o.all)
    for (const auto& e : m.eras)
      for (const auto& a : m.arch_order)
        if (!m.cell(e.name, a).unsupported) cells.push_back(e.name + "/" + a);
  std::vector<Item> out;
  auto src = o.source.empty() ? std::nullopt : std::optional<std::string>(o.source);
  for (const auto& c : cells) {
    auto choice = matrix::resolve_cell(m, c, src);
    out.push_back({choice.cell->key(), choice.image_tag});
  }
  for (const auto& t : o.tags) out.push_back({cell_of_tag(m, t), t});
  return out;
}

// Builds the cells whose image is not in the layout yet (as `ksimg build --no-smoke` does).
void build_missing(const PushOpts& o, const std::vector<Item>& items, const oci::Layout& layout) {
  std::unique_ptr<http::Transport> t;
  for (const auto& it : items) {
    if (it.cell.empty() || layout.find_tag(it.tag)) continue;
    if (!t) t = http::make_transport();
    log::info(it.tag + " is not in " + o.layout + "; building it");
    auto src = o.source.empty() ? std::nullopt : std::optional<std::string>(o.source);
    layers::CellBuild b{build_context(o.build, *t), it.cell, src, layers::find_kbuild(), o.revision};
    layers::build_cell_image(b, layout);
  }
}

// Repositories on the same registry that earlier pushes pinned: mount sources.
std::vector<std::string> mount_sources(const registry::Pins& pins, const std::string& reg,
                                       const std::string& repo) {
  std::vector<std::string> out;
  std::set<std::string> seen{repo};
  for (const auto& [tag, p] : pins) {
    auto r = registry::parse_reference(p.reference);
    if (r.registry == reg && seen.insert(r.repository).second) out.push_back(r.repository);
  }
  return out;
}

// The platform of each of an index's manifests, for `inspect_image`; {nullopt} for a manifest.
std::vector<std::optional<oci::Platform>> image_platforms(const oci::Layout& layout, const std::string& tag) {
  std::vector<std::optional<oci::Platform>> out;
  auto d = *layout.find_tag(tag);
  if (!oci::is_index_media_type(d.media_type)) return {std::nullopt};
  for (const auto& m : oci::index_manifests(layout, d)) out.push_back(m.platform);
  return out;
}

// The distinct compressor profiles of the image's layers (every platform's), for its
// images.lock.json entry.
std::vector<std::string> layer_compressors(const oci::Layout& layout, const std::string& tag) {
  std::set<std::string> out;
  for (const auto& p : image_platforms(layout, tag))
    for (const auto& l : oci::inspect_image(layout, tag, p).layers) {
      auto c = l.descriptor.annotations.find(std::string(oci::compressor_annotation));
      if (c != l.descriptor.annotations.end()) out.insert(c->second);
    }
  return {out.begin(), out.end()};
}

// The inputs label of the image: a multi-platform image's is the sha256 of its platforms'
// labels (index order, one a line); "" when an image lacks it.
std::string inputs_label(const oci::Layout& layout, const std::string& tag, bool& cell_image) {
  std::string all;
  auto plats = image_platforms(layout, tag);
  for (const auto& p : plats) {
    auto info = oci::inspect_image(layout, tag, p);
    cell_image = cell_image || info.labels.count("org.kernelsmith.cell");
    auto it = info.labels.find(layers::kInputsLabel);
    if (it == info.labels.end() || it->second.size() != 64) return "";
    all += it->second + "\n";
  }
  return plats.size() == 1 ? all.substr(0, 64) : oci::sha256(all).hex();
}

// The immutable tag `<tag>-<12 hex>` named after the image's inputs label (layers/cell_inputs.hpp);
// none (with a warning) for an image without the label, e.g. one not built by ksimg.
std::vector<std::string> immutable_tags(const oci::Layout& layout, const std::string& tag) {
  bool cell_image = false;
  auto inputs = inputs_label(layout, tag, cell_image);
  if (!inputs.empty()) return {layers::immutable_tag(tag, inputs)};
  if (cell_image)  // a cell image from an older ksimg; others need none
    log::warn(tag + " has no " + layers::kInputsLabel +
              " label (not built from a lock by this ksimg): pushed without an immutable tag");
  return {};
}

// The images.lock.json entry of a pushed image, with each platform's manifest of an index.
registry::Pin pin_of(const oci::Layout& layout, const std::string& cell, const std::string& tag,
                     const registry::PushResult& res, const std::vector<std::string>& tags) {
  registry::Pin p{cell, res.reference, res.manifest.digest, res.manifest.size, layer_compressors(layout, tag),
                  tags};
  for (const auto& c : res.children)
    if (c.platform) p.platforms[c.platform->str()] = {c.digest, c.size};
  return p;
}

// Pushes the SBOM of the cell's linux/<host_arch> image (from the lock) as an OCI 1.1 referrer of
// `image`; "" (with a warning) when there is none to push: the lock is missing or is not the image's.
std::string push_one_sbom(const PushOpts& o, const Item& it, registry::Registry& reg, const std::string& repo,
                          const oci::Descriptor& image, const std::string& host_arch) {
  nlohmann::ordered_json doc;
  std::string what = it.tag + (image.platform ? " (" + image.platform->str() + ")" : "");
  try {
    doc = cell_sbom(o.build, o.layout, it.cell, o.source.empty() ? std::nullopt : std::optional(o.source),
                    host_arch);
  } catch (const UsageError& e) {
    log::warn(what + ": no SBOM pushed: " + e.what());
    return "";
  }
  auto r = registry::push_referrer(reg, repo, image, layers::kCycloneDxMediaType, doc.dump(2) + "\n");
  log::info(what + ": SBOM " + r.manifest.digest.str() + " refers to it (" +
            (r.api ? "referrers API" : "tag sha256-" + image.digest.hex().substr(0, 12) + "...") + ")");
  return r.manifest.digest.str();
}

// The SBOM referrers of a pushed cell image: one for a single manifest (its digest, or null), one
// per platform manifest for an index ({"linux/amd64": digest, ...}), each listing that platform's
// packages. Not a cell image: null.
nlohmann::ordered_json push_sbom(const PushOpts& o, const Item& it, registry::Registry& reg,
                                 const std::string& repo, const oci::Layout& layout,
                                 const registry::PushResult& res) {
  auto digest_or_null = [](const std::string& d) {
    return d.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d);
  };
  if (it.cell.empty()) return nullptr;
  if (res.children.empty())
    return digest_or_null(push_one_sbom(o, it, reg, repo, res.manifest,
                                        oci::manifest_platform(layout, res.manifest).architecture));
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& c : res.children)
    if (c.platform)
      out[c.platform->str()] = digest_or_null(push_one_sbom(o, it, reg, repo, c, c.platform->architecture));
  return out;
}

void push(const PushOpts& o) {
  auto dest = registry::parse_destination(o.to);
  std::string repo = dest.repository();
  auto items = select(o);
  auto layout = oci::Layout::create(o.layout);
  build_missing(o, items, layout);
  for (const auto& it : items)
    if (!layout.find_tag(it.tag)) throw UsageError(o.layout + " has no image tagged " + it.tag);
  auto reg = open_registry(dest.registry, o.reg);
  registry::PushOptions po{
      o.reg.jobs,
      {o.chunk_size, mount_sources(registry::read_images_lock(o.reg.images_lock), dest.registry, repo)}};
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  TransferView view("push");
  for (const auto& it : items) {
    view.set_image(it.tag);
    auto fixed = immutable_tags(layout, it.tag);
    auto res = registry::push_image(*reg, layout, {it.tag, repo, {it.tag}, fixed}, po, &view);
    auto sbom = push_sbom(o, it, *reg, repo, layout, res);
    std::vector<std::string> tags{it.tag};
    tags.insert(tags.end(), fixed.begin(), fixed.end());
    registry::update_images_lock(o.reg.images_lock, {{it.tag, pin_of(layout, it.cell, it.tag, res, tags)}});
    log::info(it.tag + ": pushed " + Progress::bytes(res.bytes_sent) + ", skipped " +
              Progress::bytes(res.bytes_skipped) + " -> " + res.reference);
    if (o.reg.json) {
      all.push_back(push_json(res, it.cell));
      all.back()["tags"] = tags;
      all.back()["sbom"] = sbom;
    } else
      std::cout << it.tag << " " << res.reference << "\n" << std::flush;
  }
  if (o.reg.json) std::cout << all.dump(2) << "\n";
}

}  // namespace

void add_registry_commands(CLI::App& app) {
  auto o = std::make_shared<PushOpts>();
  auto* sub = app.add_subcommand("push", "Push cell images to an OCI registry (Harbor, distribution, ...)");
  sub->add_option("-c,--cell", o->cells, "Cell ERA/ARCH (repeatable); built first when not in the layout");
  sub->add_flag("--all", o->all, "Every supported cell");
  sub->add_option("-t,--tag", o->tags, "An image of the layout by tag (repeatable)");
  sub->add_option("--to", o->to,
                  "Destination REGISTRY[:PORT][/NAMESPACE]; images go to NAMESPACE/kernelsmith:<tag>")
      ->required();
  sub->add_option("-s,--source", o->source, "Toolchain source for cells that offer several");
  sub->add_option("--chunk-size", o->chunk_size,
                  "Upload blobs larger than this in PATCH chunks of this size (e.g. 64MiB; default: one PUT)")
      ->transform(CLI::AsSizeValue(false));
  sub->add_option("--revision", o->revision, "org.opencontainers.image.revision for images built here");
  add_layout_option(sub, o->layout);
  add_registry_flags(sub, o->reg);
  add_build_options(sub, o->build);
  sub->footer(
      "Prints '<tag> <reference@digest>' per image and records it in images.lock.json. A cell image\n"
      "also gets the immutable tag '<tag>-<12 hex of its inputs hash>' (lock entries, launcher,\n"
      "compression); a push that would move it to another digest stops with exit 6. The cell's SBOM\n"
      "(ksimg sbom) goes along as an OCI 1.1 referrer of the image. Blobs the\n"
      "registry has are skipped (HEAD), blobs of another repository there are mounted, the rest\n"
      "uploaded; the manifest is pushed by digest, then tagged.\n\n"
      "Examples:\n"
      "  scripts/start-registry 5000 && ksimg push --cell k4/mipsel --to 127.0.0.1:5000/ns\n"
      "  ksimg push --all --to harbor.example.com/kernelsmith --json\n"
      "  ksimg push --tag k4-mipsel --to 127.0.0.1:5000/other --jobs 8");
  sub->callback([o] { push(*o); });
  add_pull(app);
}

}  // namespace ksimg::cli
