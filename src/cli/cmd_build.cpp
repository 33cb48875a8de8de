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
#include "util/files.hpp"
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

// Loads the tag into podman and runs the smoke check; throws when it fails. `arch`: the entry
// of a multi-platform image to check ("" = a single-platform image, this machine's).
run::SmokeResult smoke(const std::string& layout, const std::string& tag, const matrix::Cell& c,
                       const matrix::Recipe& r, const std::string& arch = "") {
  std::string image = run::load(layout, tag, arch);
  auto res = run::smoke_check(image, matrix::get(global().data_dir).arches.at(c.arch), r,
                              arch.empty() ? "" : "linux/" + arch);
  if (!res.ok()) {
    std::string why;
    for (const auto& p : res.problems) why += (why.empty() ? "" : "; ") + p;
    throw RuntimeError("smoke check of " + tag + (arch.empty() ? "" : " (linux/" + arch + ")") +
                       " failed: " + why + " (output: " + res.log.substr(0, 400) + ")");
  }
  log::info(tag + (arch.empty() ? "" : " (linux/" + arch + ")") + ": smoke check passed: " + res.dumpmachine +
            ", " + res.elf_class + " " + res.machine + ", " + res.data);
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

nlohmann::ordered_json smoke_json(const run::SmokeResult& s) {
  return {{"dumpmachine", s.dumpmachine}, {"class", s.elf_class}, {"machine", s.machine}, {"data", s.data}};
}

// Why cell `choice`'s toolchain has no build for a linux/`arch` host ("" when it has one).
std::string toolchain_problem(const matrix::CellChoice& choice, const std::string& arch) {
  const auto& r = *choice.recipe;
  if (arch == "amd64" || r.no_arm64.empty()) return "";
  return "cell " + choice.cell->key() + " has no linux/arm64 image (recipe " + r.name + ": " + r.no_arm64 +
         "; 'ksimg matrix' lists each cell's platforms); build it with --platform linux/amd64";
}

// Why this lock cannot build cell `choice` for linux/`arch` ("" when it can): it lacks that
// host's pins of the base or of the cell's recipe.
std::string lock_problem(const matrix::CellChoice& choice, const std::string& arch,
                         const layers::BuildContext& ctx) {
  if (arch == "amd64") return "";
  const auto& r = *choice.recipe;
  for (const std::string& name : {std::string("base"), r.name}) {
    auto it = ctx.lock->recipes.find(name);
    if (it == ctx.lock->recipes.end() || it->second.packages_for(arch).empty())
      return ctx.lock_file + " has no " + arch + " pins for " + (name == "base" ? "the base layer" : name) +
             " (cell " + choice.cell->key() + "); run 'ksimg lock --recipe " + name + "'";
  }
  return "";
}

// The platforms each cell gets. A named cell must have every platform asked for; with --all a
// cell whose toolchain has no build for a platform leaves it out (said on stderr, and in
// --json as `skipped`), and a cell left with none is not built. A lock without a platform's
// pins is refused either way: `ksimg lock` fixes that.
struct CellPlatforms {
  std::string cell;
  std::vector<oci::Platform> platforms;
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
};

std::vector<CellPlatforms> plan_platforms(const CellOpts& o, const std::vector<std::string>& cells,
                                          const std::vector<oci::Platform>& platforms,
                                          const layers::BuildContext& ctx) {
  const auto& m = matrix::get(global().data_dir);
  std::vector<CellPlatforms> out;
  for (const auto& cell : cells) {
    auto choice = matrix::resolve_cell(m, cell, source_of(o));
    CellPlatforms cp{cell, {}};
    for (const auto& p : platforms) {
      auto why = toolchain_problem(choice, p.architecture);
      if (why.empty()) {
        if (auto lock_why = lock_problem(choice, p.architecture, ctx); !lock_why.empty())
          throw UsageError(lock_why);
        cp.platforms.push_back(p);
      } else if (o.all) {
        log::warn(cell + ": " + p.str() + " skipped: recipe " + choice.recipe->name + ": " +
                  choice.recipe->no_arm64);
        cp.skipped.push_back({{"platform", p.str()}, {"reason", choice.recipe->no_arm64}});
      } else {
        throw UsageError(why);
      }
    }
    out.push_back(std::move(cp));
  }
  return out;
}

// One cell for every platform of `platforms`: one image each (untagged), then the index that
// lists them, tagged with the cell's tag (last, so a failure leaves the old tag as it was).
nlohmann::ordered_json build_index(const CellOpts& o, layers::CellBuild& b, const oci::Layout& layout,
                                   const std::vector<oci::Platform>& platforms) {
  std::vector<oci::Descriptor> manifests;
  nlohmann::ordered_json entries = nlohmann::ordered_json::array();
  std::string tag;
  for (const auto& p : platforms) {
    b.ctx.host_arch = p.architecture;
    b.kbuild = layers::find_kbuild_for(p.architecture);
    b.tag = false;
    auto ci = layers::build_cell_image(b, layout);
    tag = ci.tag;
    manifests.push_back(ci.image.manifest);
    auto j = image_json(ci);
    j["platform"] = p.str();
    entries.push_back(j);
  }
  int64_t epoch = b.ctx.source_date_epoch.value_or(b.ctx.lock->source_date_epoch);
  auto index = oci::write_index(layout, manifests, epoch);
  layout.set_tag(tag, index);
  log::info(tag + ": index " + index.digest.str() + " (" + oci::platform_names(manifests) + ")");
  auto choice = matrix::resolve_cell(matrix::get(global().data_dir), b.cell, b.source);
  for (size_t i = 0; i < platforms.size() && !o.no_smoke; ++i)
    entries[i]["smoke"] =
        smoke_json(smoke(o.layout, tag, *choice.cell, *choice.recipe, platforms[i].architecture));
  if (o.no_smoke && o.load) run::load(o.layout, tag);
  return {{"cell", b.cell}, {"tag", tag}, {"index", index.digest.str()}, {"manifests", entries}};
}

void build(const CellOpts& o) {
  auto cells = selected_cells(o);
  const auto& m = matrix::get(global().data_dir);
  std::vector<oci::Platform> platforms;
  if (!o.platform.empty()) platforms = oci::parse_platform_list(o.platform);
  auto transport = http::make_transport();
  auto ctx = build_context(o.build, *transport);
  // The user's input (cells, source, platforms, lock) is checked before anything is built or
  // the kbuild program is looked for.
  for (const auto& cell : cells) matrix::resolve_cell(m, cell, source_of(o));
  if (!ctx.lock) throw UsageError("no lock file " + ctx.lock_file + "; run 'ksimg lock' first");
  auto per_cell = plan_platforms(o, cells, platforms, ctx);
  require_emulation(platforms);
  layers::CellBuild b{std::move(ctx), "", source_of(o),
                      platforms.empty() ? layers::find_kbuild() : std::filesystem::path(), o.revision};
  for (const auto& p : platforms) layers::find_kbuild_for(p.architecture);
  auto layout = oci::Layout::create(o.layout);
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& [cell, cell_platforms, skipped] : per_cell) {
    b.cell = cell;
    if (!platforms.empty()) {
      if (cell_platforms.empty()) {
        all.push_back({{"cell", cell}, {"skipped", skipped}});
        continue;
      }
      auto j = build_index(o, b, layout, cell_platforms);
      if (!skipped.empty()) j["skipped"] = skipped;
      if (!o.json)
        std::cout << j["tag"].get<std::string>() << " " << j["index"].get<std::string>() << "\n"
                  << std::flush;
      all.push_back(j);
      continue;
    }
    auto ci = layers::build_cell_image(b, layout);
    auto j = image_json(ci);
    if (!o.no_smoke) {
      j["smoke"] = smoke_json(smoke(o.layout, ci.tag, *ci.cell, *ci.recipe));
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

// The entries of layout tag `tag` that `ksimg check` smoke-checks: "" for a single-platform
// image (this machine's), for an index every platform it lists or only the one --platform
// names. Entries of another architecture run under qemu-user, checked for first.
std::vector<std::string> entries_to_check(const oci::Layout& layout, const CellOpts& o,
                                          const std::string& tag) {
  auto d = layout.find_tag(tag);
  if (!oci::is_index_media_type(d->media_type)) return {""};
  std::vector<oci::Platform> platforms;
  if (!o.platform.empty()) {
    platforms.push_back(oci::parse_supported_platform(o.platform));
    oci::select_platform(layout, *d, platforms[0], "tag " + tag);  // refuses a platform the index lacks
  } else {
    for (const auto& m : oci::index_manifests(layout, *d))
      platforms.push_back(m.platform ? *m.platform : oci::manifest_platform(layout, m));
  }
  require_emulation(platforms);
  std::vector<std::string> out;
  for (const auto& p : platforms) out.push_back(p.architecture);
  return out;
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
      for (const auto& arch : entries_to_check(layout, o, tag))
        smoke(o.layout, tag, *choice.cell, *choice.recipe, arch);
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
  sub->add_option("--platform", o->platform,
                  "Host platforms, comma-separated (linux/amd64,linux/arm64): one image each, tagged as one "
                  "image index; default: a single linux/amd64 image");
  sub->footer(
      "Prints '<tag> <manifest digest>' per cell (with --platform: '<tag> <index digest>'). Layers are\n"
      "cached: an unchanged base or toolchain is not rebuilt, and the same lock gives the same digests.\n"
      "linux/arm64 images are built under qemu-user binfmt on amd64 and exist for the Debian cells\n"
      "'ksimg matrix' lists with that platform.\n\n"
      "Examples:\n"
      "  ksimg lock && ksimg build --cell k6/mipsel\n"
      "  ksimg build --cell k4/mipsel --cell k4/arm64 --layout out/oci --json\n"
      "  ksimg build --cell k6/mipsel --platform linux/amd64,linux/arm64\n"
      "  podman run --rm localhost/kernelsmith:k6-mipsel kbuild info");
  sub->callback([o] { build(*o); });

  auto c = std::make_shared<CellOpts>();
  auto* chk =
      app.add_subcommand("check", "Smoke-check built cell images in podman (compile, link, check the ELF)");
  add_cell_selection(chk, *c);
  chk->add_option(
      "--platform", c->platform,
      "For a multi-platform image: check only this entry, linux/amd64 or linux/arm64 (default: every "
      "entry; linux/arm64 runs under qemu-user binfmt on amd64)");
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
