// `ksimg image check [--layout DIR] [--json]`: verifies an OCI image layout after a crash, a full
// disk or concurrent writers (oci::check_layout; image-spec image-layout.md). Prints a summary
// and one line per problem on stdout; exit 3 when there is any problem, 0 otherwise.
#include <iostream>
#include <memory>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "oci/check.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

struct CheckOpts {
  std::string layout;
  bool json = false;
};

void print_json(const oci::LayoutCheck& r) {
  nlohmann::ordered_json j{{"ok", r.ok()},
                           {"tags", r.tags},
                           {"manifests", r.manifests},
                           {"blobs", r.blobs},
                           {"referenced", r.referenced},
                           {"unreferenced", r.unreferenced},
                           {"temp_files", r.temp_files},
                           {"problems", r.problems}};
  std::cout << j.dump(2) << "\n";
}

void print_text(const oci::LayoutCheck& r) {
  for (const auto& p : r.problems) std::cout << "problem: " << p << "\n";
  for (const auto& t : r.temp_files) std::cout << "temp file: " << t << "\n";
  std::cout << (r.ok() ? "ok" : "CORRUPT") << ": " << r.tags << " tags, " << r.manifests << " manifests, "
            << r.blobs << " blobs hashed (" << r.unreferenced << " unreferenced), " << r.temp_files.size()
            << " leftover temp files, " << r.problems.size() << " problems\n";
}

void run_check(const CheckOpts& o) {
  auto layout = oci::Layout::open(o.layout);
  auto r = oci::check_layout(layout);
  if (o.json)
    print_json(r);
  else
    print_text(r);
  std::cout << std::flush;
  if (!r.ok())
    throw IntegrityError(o.layout + " has " + std::to_string(r.problems.size()) +
                         " problem(s), listed on stdout; rebuild or re-pull the images they name");
}

}  // namespace

void add_image_check(CLI::App& image) {
  auto o = std::make_shared<CheckOpts>();
  auto* c = image.add_subcommand("check",
                                 "Verify an OCI layout: every tag's manifest, config and layers present "
                                 "with the right size and sha256, every blob hashing to its name");
  add_layout_option(c, o->layout);
  c->add_flag("--json", o->json,
              "Print one JSON object (keys: ok tags manifests blobs referenced "
              "unreferenced temp_files problems)");
  c->footer(
      "Exit codes: 0 sound (unreferenced blobs and leftover temp files of killed writers are\n"
      "listed but harmless), 3 one or more problems (one 'problem:' line each on stdout).\n"
      "Example:\n  ksimg image check --layout out/oci");
  c->callback([o] { run_check(*o); });
}

}  // namespace ksimg::cli
