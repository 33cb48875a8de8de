// `ksimg pull REF [--tag T]` and `ksimg pull --locked [--cell C]`: images from a
// registry into the OCI layout with registry::pull_image, every blob checked against its
// digest and size before it is stored; --locked fetches exactly the digests of images.lock.json.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "cli/transfer_view.hpp"
#include "oci/index.hpp"
#include "registry/pull.hpp"
#include "registry/reference.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/progress.hpp"

namespace ksimg::cli {

namespace {

struct PullOpts {
  std::string ref, tag, layout, platform;
  bool locked = false;
  std::vector<std::string> cells;
  RegistryFlags reg;
};

struct Job {
  registry::Reference ref;
  std::string tag;
  std::optional<int64_t> size;
};

std::vector<Job> jobs_of(const PullOpts& o) {
  if (o.locked == !o.ref.empty()) throw UsageError("give a reference REG/NAME:TAG[@sha256:...] or --locked");
  if (!o.locked) {
    if (!o.cells.empty()) throw UsageError("--cell goes with --locked");
    auto ref = registry::parse_reference(o.ref);
    std::string tag = o.tag.empty() ? ref.tag : o.tag;
    if (tag.empty()) throw UsageError("'" + o.ref + "' has no tag; name the layout tag with --tag");
    return {{ref, tag, std::nullopt}};
  }
  if (!o.tag.empty()) throw UsageError("--tag does not go with --locked (the lock's keys are the tags)");
  auto pins = registry::read_images_lock(o.reg.images_lock);
  if (pins.empty()) throw UsageError(o.reg.images_lock + " pins no images; push first (ksimg push)");
  std::vector<Job> out;
  for (const auto& [tag, p] : pins)
    if (o.cells.empty() || std::find(o.cells.begin(), o.cells.end(), p.cell) != o.cells.end())
      out.push_back({registry::parse_reference(p.reference), tag, p.size});
  for (const auto& c : o.cells)
    if (std::none_of(pins.begin(), pins.end(), [&](const auto& kv) { return kv.second.cell == c; }))
      throw UsageError(o.reg.images_lock + " has no image of cell " + c + "; push it first");
  return out;
}

void pull(const PullOpts& o) {
  auto jobs = jobs_of(o);
  std::optional<oci::Platform> platform;
  if (!o.platform.empty()) platform = oci::parse_supported_platform(o.platform);
  auto layout = oci::Layout::create(o.layout);
  std::map<std::string, std::unique_ptr<registry::Registry>> regs;
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  TransferView view("pull");
  for (const auto& j : jobs) {
    auto& reg = regs[j.ref.registry];
    if (!reg) reg = open_registry(j.ref.registry, o.reg);
    view.set_image(j.tag);
    auto res = registry::pull_image(*reg, j.ref, layout, j.tag, {o.reg.jobs, j.size, platform}, &view);
    log::info(j.tag + ": received " + Progress::bytes(res.bytes_received) + ", had " +
              Progress::bytes(res.bytes_skipped) + " <- " + res.reference);
    if (o.reg.json)
      all.push_back(pull_json(res));
    else
      std::cout << j.tag << " " << res.reference << "\n" << std::flush;
  }
  if (o.reg.json) std::cout << all.dump(2) << "\n";
}

}  // namespace

void add_pull(CLI::App& app) {
  auto o = std::make_shared<PullOpts>();
  auto* sub =
      app.add_subcommand("pull", "Pull images from a registry into the OCI layout, verifying every byte");
  sub->add_option("reference", o->ref, "REGISTRY[:PORT]/NAME[:TAG][@sha256:HEX]");
  sub->add_option("-t,--tag", o->tag, "Tag in the layout (default: the reference's tag)");
  sub->add_flag("--locked", o->locked, "Pull exactly the digests pinned in images.lock.json");
  sub->add_option("-c,--cell", o->cells, "With --locked: only this cell's image (repeatable)");
  sub->add_option("--platform", o->platform,
                  "From a multi-platform image (an index) keep only this platform's image, linux/amd64 or "
                  "linux/arm64 (default: keep the index with every platform)");
  add_layout_option(sub, o->layout);
  add_registry_flags(sub, o->reg);
  sub->footer(
      "Prints '<tag> <reference@digest>' per image. A blob whose bytes do not match its digest or\n"
      "size is refused (exit 3) and nothing is stored. A multi-platform image is kept as its index\n"
      "with every platform's manifest and layers, tagged like a single image.\n\n"
      "Examples:\n"
      "  ksimg pull 127.0.0.1:5000/ns/kernelsmith:k4-mipsel\n"
      "  ksimg pull --locked --cell k4/mipsel --layout /tmp/oci\n"
      "  ksimg pull harbor.example.com/ks/kernelsmith@sha256:... --tag k4-mipsel\n"
      "  ksimg pull 127.0.0.1:5000/ns/kernelsmith:k4-mipsel --platform linux/arm64");
  sub->callback([o] { pull(*o); });
}

}  // namespace ksimg::cli
