// `ksimg store ls|du|gc|fsck|checkout`: the libostree tree store that the built-in runtime
// runs cell images from (src/store; layers are commits keyed by diff_id, images hardlink
// checkouts cached per manifest digest). Results on stdout, diagnostics on stderr.
#include <iostream>
#include <memory>
#include <set>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "oci/layout.hpp"
#include "store/image.hpp"
#include "store/store.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

struct StoreOpts {
  std::string store, layout, tag;
  bool all = false;
};

std::string mib(uint64_t b) {
  return std::to_string((b + (1 << 19)) >> 20) + " MiB (" + std::to_string(b) + " bytes)";
}

void run_ls(const StoreOpts& o) {
  auto s = store::Store::open(o.store);
  for (const auto& l : s.layers()) std::cout << "layer " << l.diff_id << " commit " << l.commit << "\n";
  for (const auto& i : s.images())
    std::cout << "image " << i.digest << " " << i.tag << " " << i.diff_ids.size() << " layers "
              << i.root.string() << "\n";
}

void run_du(const StoreOpts& o) {
  auto u = store::Store::open(o.store).usage();
  std::cout << "repo objects      " << mib(u.objects) << "\n"
            << "checkouts (extra) " << mib(u.checkouts) << "\n"
            << "store on disk     " << mib(u.objects + u.checkouts) << "\n"
            << "layers unpacked   " << mib(u.layer_bytes) << " (each layer on its own)\n";
}

void run_gc(const StoreOpts& o) {
  std::set<std::string> keep;
  if (!o.all) {
    auto layout = oci::Layout::open(o.layout);
    for (const auto& t : layout.tags())
      if (auto d = layout.find_tag(t)) keep.insert(d->digest.str());
  }
  auto r = store::Store::open(o.store).gc(keep);
  std::cout << "removed " << r.images_removed << " image checkouts, " << r.layers_removed << " layers, freed "
            << mib(r.bytes_freed) << " of objects\n";
}

void run_fsck(const StoreOpts& o) {
  auto s = store::Store::open(o.store);
  auto problems = s.fsck();
  for (const auto& p : problems) std::cout << "problem: " << p << "\n";
  std::cout << (problems.empty() ? "ok" : "CORRUPT") << ": " << s.layers().size() << " layers, "
            << problems.size() << " problems\n"
            << std::flush;
  if (!problems.empty())
    throw IntegrityError(
        o.store + " has " + std::to_string(problems.size()) +
        " problem(s), listed on stdout; `ksimg store gc --all` empties it, the next run re-imports");
}

void run_checkout(const StoreOpts& o) {
  auto s = store::Store::open(o.store);
  auto p = store::prepare_image(s, oci::Layout::open(o.layout), o.tag);
  std::cout << p.root.string() << "\n";
}

void add_store_option(CLI::App* sub, std::string& dir) {
  dir = store::default_root().string();
  sub->add_option("--store", dir, "The store (env KSIMG_STORE; default $XDG_DATA_HOME/ksimg/store)")
      ->capture_default_str();
}

}  // namespace

void add_store(CLI::App& app) {
  auto o = std::make_shared<StoreOpts>();
  auto* st = app.add_subcommand("store", "The libostree tree store the built-in runtime runs images from");
  st->require_subcommand(1);
  st->footer(
      "Layers are OSTree commits keyed by diff_id (repo mode bare-user-only); an image is a hardlink\n"
      "checkout of its layers, cached per manifest digest. Exit 3 when fsck finds a problem.\n\n"
      "Examples:\n"
      "  ksimg store checkout --tag k4-mipsel     # import the layers, print the checkout's path\n"
      "  ksimg store ls\n  ksimg store du\n"
      "  ksimg store gc                           # keep only images tagged in the layout\n"
      "  ksimg store fsck");
  auto* ls = st->add_subcommand("ls", "List the layers (diff_id, commit) and image checkouts");
  auto* du = st->add_subcommand("du", "Bytes on disk of the store vs the layers unpacked one by one");
  auto* gc =
      st->add_subcommand("gc", "Remove checkouts of images not tagged in --layout, unused layers, objects");
  auto* fsck = st->add_subcommand("fsck", "Verify every object's checksum and every layer ref");
  auto* co =
      st->add_subcommand("checkout", "Import a layout image's layers and check it out; print its root");
  for (auto* sub : {ls, du, gc, fsck, co}) add_store_option(sub, o->store);
  add_layout_option(gc, o->layout);
  add_layout_option(co, o->layout);
  gc->add_flag("--all", o->all, "Remove every checkout and layer");
  co->add_option("--tag", o->tag, "Image tag in the layout, e.g. k4-mipsel")->required();
  ls->callback([o] { run_ls(*o); });
  du->callback([o] { run_du(*o); });
  gc->callback([o] { run_gc(*o); });
  fsck->callback([o] { run_fsck(*o); });
  co->callback([o] { run_checkout(*o); });
}

}  // namespace ksimg::cli
