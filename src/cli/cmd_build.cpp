// `ksimg build --cell C... | --all`, `ksimg check --cell C`, `ksimg load --cell C`: cell images
// from the lock into an OCI layout, their smoke check in podman, and loading them into
// podman's storage as localhost/kernelsmith:<tag>.
#include <iostream>
#include <set>
#include <utility>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "layers/cell_build.hpp"
#include "layers/launcher.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "registry/images_lock.hpp"
#include "run/podman.hpp"
#include "run/smoke.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct CellOpts {
  std::vector<std::string> cells, tags;  // tags: `ksimg load --tag`, any image of the layout
  std::string source, layout, revision, platform;
  bool all = false, no_smoke = false, load = false, json = false;
  BuildOpts build;
};

std::vector<std::string> selected_cells(const CellOpts& o) {
  if (o.all == !o.cells.empty()) throw UsageError("give --cell ERA/ARCH (repeatable) or --all");
  if (!o.all) return o.cells;
  std::vector<std::string> out;
  const auto& m = matrix::get(global().data_dir);
  for (const auto& e : m.eras)
    for (const auto& a : m.arch_order)
      if (!m.cell(e.name, a).unsupported) out.push_back(e.name + "/" + a);
  return out;
}

std::optional<std::string> source_of(const CellOpts& o) {
  return o.source.empty() ? std::nullopt : std::optional<std::string>(o.source);
}

// Loads the tag into podman and runs the smoke check; throws when it fails.
run::SmokeResult smoke(const std::string& layout, const std::string& tag, const matrix::Cell& c,
                       const matrix::Recipe& r) {
  std::string image = run::load(layout, tag);
  auto res = run::smoke_check(image, matrix::get(global().data_dir).arches.at(c.arch), r);
  if (!res.ok()) {
    std::string why;
    for (const auto& p : res.problems) why += (why.empty() ? "" : "; ") + p;
    throw RuntimeError("smoke check of " + tag + " failed: " + why + " (output: " + res.log.substr(0, 400) +
                       ")");
  }
  log::info(tag + ": smoke check passed: " + res.dumpmachine + ", " + res.elf_class + " " + res.machine +
            ", " + res.data);
  return res;
}

nlohmann::ordered_json image_json(const layers::CellImage& ci) {
  return {{"cell", ci.cell->key()},
          {"tag", ci.tag},
          {"recipe", ci.recipe->name},
          {"manifest", ci.image.manifest.digest.str()},
          {"layers",
           {{"base", ci.base.layer.descriptor.digest.str()},
            {"toolchain", ci.toolchain.layer.descriptor.digest.str()},
            {"launcher", ci.launcher.descriptor.digest.str()}}},
          {"sizes",
           {{"base", ci.base.layer.descriptor.size},
            {"toolchain", ci.toolchain.layer.descriptor.size},
            {"launcher", ci.launcher.descriptor.size}}},
          {"closure", {{"binaries", ci.closure.binaries}, {"libraries", ci.closure.libraries}}}};
}

void build(const CellOpts& o) {
  auto cells = selected_cells(o);
  const auto& m = matrix::get(global().data_dir);
  // The user's input (cells, source, lock) is checked before the kbuild program is looked for.
  for (const auto& cell : cells) matrix::resolve_cell(m, cell, source_of(o));
  auto transport = http::make_transport();
  auto ctx = build_context(o.build, *transport);
  if (!ctx.lock) throw UsageError("no lock file " + ctx.lock_file + "; run 'ksimg lock' first");
  layers::CellBuild b{std::move(ctx), "", source_of(o), layers::find_kbuild(), o.revision};
  auto layout = oci::Layout::create(o.layout);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& cell : cells) {
    b.cell = cell;
    auto ci = layers::build_cell_image(b, layout);
    auto j = image_json(ci);
    if (!o.no_smoke) {
      auto s = smoke(o.layout, ci.tag, *ci.cell, *ci.recipe);
      j["smoke"] = {
          {"dumpmachine", s.dumpmachine}, {"class", s.elf_class}, {"machine", s.machine}, {"data", s.data}};
    } else if (o.load) {
      run::load(o.layout, ci.tag);
    }
    if (!o.json) std::cout << ci.tag << " " << ci.image.manifest.digest.str() << "\n" << std::flush;
    all.push_back(j);
  }
  if (o.json) std::cout << all.dump(2) << "\n";
}

// Gzip bytes depend on the libdeflate version (docs/oci.md): when the one recorded for the
// tag's pin in images.lock.json, or in the layout image's layers, is not this ksimg's, a
// rebuild gives other blob digests (the diff_ids stay the same).
void warn_deflate_drift(const std::string& tag, const std::string& where, const std::string& profile) {
  auto here = oci::libdeflate_version(), v = oci::libdeflate_version_of(profile);
  if (v.empty() || v == here) return;
  log::warn(tag + ": " + where + " was compressed with libdeflate " + v + ", this ksimg has " + here +
            ": a rebuild gives other gzip layer digests (same diff_ids); rebuild with libdeflate " + v +
            " to reproduce it, or rebuild, push and re-pin");
}

void warn_pin_drift(const std::string& tag) {
  auto lock = registry::default_images_lock();
  if (auto pin = registry::find_pin(lock, tag))
    for (const auto& c : pin->compressors)
      warn_deflate_drift(tag, "the digest pinned in " + lock.string(), c);
}

void warn_layout_drift(const oci::Layout& layout, const std::string& tag) {
  std::set<std::string> seen;
  for (const auto& l : oci::inspect_image(layout, tag).layers) {
    auto c = l.descriptor.annotations.find(std::string(oci::compressor_annotation));
    if (c != l.descriptor.annotations.end() && seen.insert(c->second).second)
      warn_deflate_drift(tag, "the image in the layout", c->second);
  }
}

// Loads layout tag `tag` into podman; a multi-platform image's `platform` entry (checked first).
void load_tag(const oci::Layout& layout, const CellOpts& o, const std::string& tag) {
  auto d = layout.find_tag(tag);
  if (!d) throw UsageError(o.layout + " has no image tagged " + tag + "; build or pull it first");
  auto want = o.platform.empty() ? oci::running_platform() : oci::parse_supported_platform(o.platform);
  oci::select_platform(layout, *d, want, "tag " + tag);  // refuses a platform the index lacks
  run::load(o.layout, tag, o.platform.empty() ? "" : want.architecture);
}

void check_or_load(const CellOpts& o, bool check) {
  if (!o.platform.empty()) oci::parse_supported_platform(o.platform);
  auto layout = oci::Layout::open(o.layout);
  if (!check && !o.tags.empty()) {
    if (o.all || !o.cells.empty()) throw UsageError("give --cell/--all or --tag, not both");
    for (const auto& t : o.tags) {
      load_tag(layout, o, t);
      std::cout << run::local_name(t) << "\n";
    }
    return;
  }
  const auto& m = matrix::get(global().data_dir);
  for (const auto& cell : selected_cells(o)) {
    auto choice = matrix::resolve_cell(m, cell, source_of(o));
    const std::string& tag = choice.image_tag;
    if (check) warn_pin_drift(tag);
    if (!layout.find_tag(tag))
      throw UsageError(o.layout + " has no image " + tag + "; build it first: ksimg build --cell " + cell);
    if (check) {
      warn_layout_drift(layout, tag);
      smoke(o.layout, tag, *choice.cell, *choice.recipe);
    } else
      load_tag(layout, o, tag);
    std::cout << run::local_name(tag) << "\n";
  }
}

void add_cell_selection(CLI::App* sub, CellOpts& o) {
  sub->add_option("-c,--cell", o.cells,
                  "Cell ERA/ARCH, e.g. k4/mipsel (repeatable; 'ksimg matrix' lists them)");
  sub->add_flag("--all", o.all, "Every supported cell");
  sub->add_option("-s,--source", o.source,
                  "Toolchain source for cells that offer several: debian, bootlin, script");
  add_layout_option(sub, o.layout);
}

}  // namespace

void add_cell_commands(CLI::App& app) {
  auto o = std::make_shared<CellOpts>();
  auto* sub =
      app.add_subcommand("build", "Build cell images (base + toolchain + launcher layers) from the lock");
  add_cell_selection(sub, *o);
  add_build_options(sub, o->build);
  sub->add_flag("--no-smoke", o->no_smoke, "Skip the smoke check in podman");
  sub->add_flag("--load", o->load, "Also put the image into podman's storage (the smoke check always does)");
  sub->add_option("--revision", o->revision,
                  "org.opencontainers.image.revision annotation (e.g. a git commit)");
  sub->add_flag("--json", o->json, "Print digests, layer sizes and smoke results as JSON");
  sub->footer(
      "Prints '<tag> <manifest digest>' per cell. Layers are cached: an unchanged base or toolchain is\n"
      "not rebuilt, and the same lock gives the same digests.\n\n"
      "Examples:\n"
      "  ksimg lock && ksimg build --cell k6/mipsel\n"
      "  ksimg build --cell k4/mipsel --cell k4/arm64 --layout out/oci --json\n"
      "  podman run --rm localhost/kernelsmith:k6-mipsel kbuild info");
  sub->callback([o] { build(*o); });

  auto c = std::make_shared<CellOpts>();
  auto* chk =
      app.add_subcommand("check", "Smoke-check built cell images in podman (compile, link, check the ELF)");
  add_cell_selection(chk, *c);
  chk->footer(
      "Also warns when the libdeflate version recorded for the image (its pin in images.lock.json,\n"
      "$KSIMG_IMAGES_LOCK, or its layers) differs from this ksimg's: a rebuild would give other gzip\n"
      "digests.\n\nExample:\n  ksimg check --cell k4/mipsel");
  chk->callback([c] { check_or_load(*c, true); });

  auto l = std::make_shared<CellOpts>();
  auto* ld = app.add_subcommand("load",
                                "Put built cell images into podman's storage as localhost/kernelsmith:<tag>");
  add_cell_selection(ld, *l);
  ld->add_option("-t,--tag", l->tags, "Any image of the layout by tag instead of a cell's (repeatable)");
  ld->add_option("--platform", l->platform,
                 "For a multi-platform image: the entry to load, linux/amd64 or linux/arm64 (default: this "
                 "machine's)");
  ld->footer(
      "Example:\n  ksimg load --cell k4/mipsel && podman run --rm localhost/kernelsmith:k4-mipsel kbuild "
      "info\n  ksimg load --cell k4/mipsel --platform linux/arm64   # runs under qemu-user binfmt on amd64");
  ld->callback([l] { check_or_load(*l, false); });
}

}  // namespace ksimg::cli
