// `ksimg verify REG/NS/kernelsmith:TAG`: verify by rebuild. Pulls the image (every blob checked),
// rebuilds its cell from the local lock with this ksimg (layers/cell_build.hpp) and compares the
// manifest digests; on a mismatch, the first differing layer and, inside it, the first differing
// tar member. Possible only because cell images are reproducible (README "Determinism"). The
// image's inputs label must equal what the local lock and ksimg give: otherwise the rebuild could
// not be the same, and the command says which lock to check out instead of reporting a mismatch.
#include <iostream>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "layers/cell_build.hpp"
#include "layers/cell_image.hpp"
#include "layers/cell_inputs.hpp"
#include "layers/launcher.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/index.hpp"
#include "oci/inspect.hpp"
#include "oci/tar_scan.hpp"
#include "registry/pull.hpp"
#include "registry/reference.hpp"
#include "util/error.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::cli {

namespace {

struct VerifyOpts {
  std::string ref, layout, platform;
  BuildOpts build;
  RegistryFlags reg;
};

std::string label(const oci::ImageInfo& i, const std::string& k) {
  auto it = i.labels.find(k);
  return it == i.labels.end() ? "" : it->second;
}

// "path: what" of every member, in archive order, with its data's sha256.
std::vector<std::string> members(const std::filesystem::path& blob) {
  std::vector<std::string> out;
  oci::scan_tar(blob, [&](const oci::TarMember& m, oci::MemberData& d) {
    oci::Sha256 h;
    for (std::string b = d.read(1 << 20); !b.empty(); b = d.read(1 << 20)) h.update(b);
    out.push_back(m.path + ": type " + std::string(1, m.type) + ", mode " + std::to_string(m.perm) +
                  ", uid " + std::to_string(m.uid) + ", mtime " + std::to_string(m.mtime) + ", size " +
                  std::to_string(m.size) + (m.link.empty() ? "" : ", link " + m.link) + ", sha256 " +
                  h.finish().hex().substr(0, 16));
  });
  return out;
}

// The first difference between two layers, as one phrase.
std::string first_difference(const std::filesystem::path& want, const std::filesystem::path& got) {
  auto a = members(want), b = members(got);
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    if (i < a.size() && i < b.size() && a[i] == b[i]) continue;
    if (i >= a.size()) return "the registry's has an extra member " + b[i];
    if (i >= b.size()) return "the registry's lacks member " + a[i];
    return "first differing member: rebuilt " + a[i] + "; registry " + b[i];
  }
  return "the members are equal; the compressed bytes differ";
}

// The cell and source the pulled image was built for, from its labels.
std::pair<std::string, std::optional<std::string>> cell_of(const oci::ImageInfo& info,
                                                           const std::string& ref) {
  std::string cell = label(info, "org.kernelsmith.cell");
  if (cell.empty())
    throw UsageError(ref + " is not a kernelsmith cell image (no org.kernelsmith.cell label)");
  const auto& m = matrix::get(global().data_dir);
  const matrix::Recipe* r = matrix::resolve_cell(m, cell).recipe;
  if (r->name == label(info, "org.kernelsmith.recipe")) return {cell, std::nullopt};
  return {cell, label(info, "org.kernelsmith.toolchain-source")};
}

// Why the rebuilt image differs from the pulled one ("" when their manifests are the same).
std::string difference(const oci::Layout& local, const oci::ImageInfo& mine, const oci::Layout& pulled,
                       const oci::ImageInfo& remote) {
  if (mine.manifest.digest == remote.manifest.digest) return "";
  for (size_t i = 0; i < std::min(mine.layers.size(), remote.layers.size()); ++i)
    if (mine.layers[i].descriptor.digest != remote.layers[i].descriptor.digest)
      return "layer " + std::to_string(i + 1) + " differs (" +
             first_difference(local.blob_path(mine.layers[i].descriptor.digest),
                              pulled.blob_path(remote.layers[i].descriptor.digest)) +
             ")";
  return "the config differs";
}

void verify(const VerifyOpts& o) {
  auto ref = registry::parse_reference(o.ref);
  std::optional<oci::Platform> only;
  if (!o.platform.empty()) only = oci::parse_supported_platform(o.platform);
  TempDir tmp("ksimg-verify");
  auto pulled = oci::Layout::create(tmp / "pulled");
  auto reg = open_registry(ref.registry, o.reg);
  auto pr = registry::pull_image(*reg, ref, pulled, "remote", {o.reg.jobs, std::nullopt, only});
  // The platforms to rebuild: every entry of an index (its digest is then rebuilt too), or the
  // one image pulled (a single-platform image, or the entry --platform picked).
  std::vector<oci::Platform> platforms;
  for (const auto& c : pr.children)
    if (c.platform) platforms.push_back(*c.platform);
  bool index = !platforms.empty();
  if (!index) platforms.push_back(oci::inspect_image(pulled, "remote").platform);
  require_emulation(platforms);
  auto t = http::make_transport();
  auto local = oci::Layout::create(o.layout.empty() ? (tmp / "rebuilt").string() : o.layout);
  std::vector<oci::Descriptor> manifests;
  std::string tag;
  int64_t epoch = 0;
  for (const auto& p : platforms) {
    auto remote = oci::inspect_image(pulled, "remote", p);
    auto [cell, source] = cell_of(remote, o.ref);
    layers::CellBuild b{build_context(o.build, *t),
                        cell,
                        source,
                        layers::find_kbuild_for(p.architecture),
                        label(remote, "org.opencontainers.image.revision"),
                        !index};
    b.ctx.host_arch = p.architecture;
    log::info("rebuilding " + cell + " for " + p.str() + " from " + o.build.lock_file);
    auto built = layers::build_cell_image(b, local);
    manifests.push_back(built.image.manifest);
    tag = built.tag;
    epoch = b.ctx.source_date_epoch.value_or(b.ctx.lock->source_date_epoch);
  }
  if (index) local.set_tag(tag, oci::write_index(local, manifests, epoch));  // as `ksimg build --platform`
  std::string got = local.find_tag(tag)->digest.str();
  for (const auto& p : platforms) {
    auto remote = oci::inspect_image(pulled, "remote", p);
    auto mine = oci::inspect_image(local, tag, p);
    if (label(mine, layers::kInputsLabel) != label(remote, layers::kInputsLabel))
      throw UsageError(o.ref + (index ? " (" + p.str() + ")" : "") + " was built from other inputs (inputs " +
                       label(remote, layers::kInputsLabel).substr(0, 12) + ", this lock and ksimg give " +
                       label(mine, layers::kInputsLabel).substr(0, 12) +
                       "); check out the ksimg.lock.json and ksimg it was built with, then verify again");
    auto why = difference(local, mine, pulled, remote);
    if (!why.empty())
      throw IntegrityError(o.ref + (index || only ? " (" + p.str() + ")" : "") + " is " +
                           remote.manifest.digest.str() + " but the lock rebuilds " +
                           mine.manifest.digest.str() + ": " + why);
  }
  if (got != pr.manifest.digest.str())
    throw IntegrityError(o.ref + " is the index " + pr.manifest.digest.str() + " but the lock rebuilds " +
                         got + ": every platform's image is the same, the index itself differs");
  std::cout << o.ref << " " << pr.manifest.digest.str() << " verified: rebuilt from the lock, same digest";
  if (index)
    std::cout << " (index of " << oci::platform_names(manifests) << ")";
  else if (only)
    std::cout << " (its " << only->str() << " image)";
  std::cout << "\n";
}

}  // namespace

void add_verify(CLI::App& app) {
  auto o = std::make_shared<VerifyOpts>();
  auto* sub = app.add_subcommand("verify", "Verify a registry's cell image by rebuilding it from the lock");
  sub->add_option("REF", o->ref, "The image: REG/NS/kernelsmith:TAG or @sha256:...")->required();
  sub->add_option("--layout", o->layout, "Keep the rebuilt image in this layout (default: a temp dir)");
  sub->add_option("--platform", o->platform,
                  "Of a multi-platform image verify only this platform's image, linux/amd64 or linux/arm64 "
                  "(default: every platform, and the index)");
  add_build_options(sub, o->build);
  add_registry_flags(sub, o->reg);
  sub->footer(
      "Pulls the image (every blob checked against its digest), rebuilds its cell (org.kernelsmith.cell)\n"
      "from the lock with this ksimg, and compares the digests. Exit 0: the same digest; 3: another\n"
      "digest, naming the first differing layer and the first differing member in it; 2: the image was\n"
      "built from other inputs (its org.kernelsmith.inputs-sha256 label) than this lock and ksimg.\n"
      "Works because cell images are reproducible: the same lock gives the same bytes.\n"
      "A multi-platform image (an index) is verified whole: each platform's image is rebuilt (linux/arm64\n"
      "under qemu-user on an amd64 host) and so is the index; --platform verifies one entry.\n\n"
      "Examples:\n"
      "  ksimg verify 127.0.0.1:5000/ns/kernelsmith:k4-mipsel\n"
      "  ksimg verify harbor.example.com/ci/kernelsmith:k4-mipsel-3f2a9c0e17b4 --lock ksimg.lock.json\n"
      "  ksimg verify 127.0.0.1:5000/ns/kernelsmith:k6-mipsel --platform linux/arm64");
  sub->callback([o] { verify(*o); });
}

}  // namespace ksimg::cli
