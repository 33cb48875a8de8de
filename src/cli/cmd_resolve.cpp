// `ksimg resolve VERSION [--arch A] [--source S] [--json]`: which toolchain cell builds a
// kernel, and why. Without --arch, one row per arch.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "cli/version_arg.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

struct ResolveOpts {
  std::string version, arch, source;
  bool json = false;
};

void print_one(const matrix::Resolution& r, const matrix::Matrix& m) {
  const auto& a = m.arches.at(r.arch);
  std::cout << table({{"kernel", r.version.str()},
                      {"arch", r.arch + " (ARCH=" + a.kernel_arch + ", " + std::to_string(a.bits) + "-bit " +
                                   a.endian + "-endian)"},
                      {"era", r.era->name + " (" + r.band + ")"},
                      {"cell", r.cell->key()},
                      {"image", std::string(image_repo()) + ":" + r.image_tag},
                      {"toolchain", toolchain_summary(*r.recipe)},
                      {"recipe", r.recipe->name},
                      {"cross", "CROSS_COMPILE=" + r.recipe->triple + "-"}});
  std::cout << "why:\n";
  for (const auto& w : r.why) std::cout << "  - " << w << "\n";
}

void print_all(const ResolveOpts& o, const matrix::Matrix& m, const matrix::Version& v) {
  std::vector<std::vector<std::string>> rows{
      {"ARCH", "CELL", "IMAGE", "SOURCE", "GCC", "BINUTILS", "LIBC", "NOTE"}};
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  std::optional<std::string> src;
  if (!o.source.empty()) src = o.source;
  for (const auto& arch : m.arch_order) {
    try {
      auto r = matrix::resolve(m, v, arch, src);
      all.push_back(to_json(r));
      std::string note = r.exception ? "exception " + r.exception->id : "";
      rows.push_back({arch, r.cell->key(), std::string(image_repo()) + ":" + r.image_tag, r.recipe->source(),
                      r.recipe->gcc, r.recipe->binutils.value_or("-"), libc_short(r.recipe->libc), note});
    } catch (const UsageError& e) {
      all.push_back({{"version", v.str()}, {"arch", arch}, {"error", e.what()}});
      rows.push_back({arch, "-", "-", "-", "-", "-", "-", e.what()});
    }
  }
  if (o.json) {
    std::cout << all.dump(2) << "\n";
    return;
  }
  const auto& era = matrix::era_for(m, v);
  std::cout << "kernel " << v.str() << ": era " << era.name << " (" << era.from.str() << " <= v"
            << (era.below ? " < " + era.below->str() : "") << ")\n"
            << table(rows);
}

void run(const ResolveOpts& o) {
  const auto& m = matrix::get(global().data_dir);
  matrix::Version v = version_from_arg(o.version);
  if (o.arch.empty()) return print_all(o, m, v);
  std::optional<std::string> src;
  if (!o.source.empty()) src = o.source;
  auto r = matrix::resolve(m, v, o.arch, src);
  if (o.json)
    std::cout << to_json(r).dump(2) << "\n";
  else
    print_one(r, m);
}

}  // namespace

void add_resolve(CLI::App& app) {
  auto o = std::make_shared<ResolveOpts>();
  auto* sub =
      app.add_subcommand("resolve", "Show which era, cell, image and toolchain build a kernel, and why");
  sub->add_option("VERSION", o->version,
                  "Kernel version (2.6.39.4, 3.18.140, v5.10, linux-6.6, 6.0-rc1) or a path to a kernel tree "
                  "or tarball")
      ->required();
  sub->add_option("-a,--arch", o->arch,
                  "Target arch (armel armhf arm64 mipseb mipsel mips64eb mips64el powerpc "
                  "powerpcle powerpc64 powerpc64le riscv64 x86_64); omit for every arch");
  sub->add_option("-s,--source", o->source,
                  "Toolchain source for the cell: debian, bootlin or script (default: the cell's)");
  sub->add_flag("--json", o->json, "Print JSON for scripts");
  sub->footer(
      "Examples:\n"
      "  ksimg resolve 3.18.140 --arch mipsel       # k3, kernelsmith:k3-mipsel, and why\n"
      "  ksimg resolve 4.10 --arch x86_64 --json    # the binutils < 2.31 exception as JSON\n"
      "  ksimg resolve ./linux-5.10.229.tar.xz      # version read from the tarball's Makefile; all arches");
  sub->callback([o] { run(*o); });
}

}  // namespace ksimg::cli
