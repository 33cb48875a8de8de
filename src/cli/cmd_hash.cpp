// `ksimg hash [--nar] PATH`: the pins a recipe input takes (recipes/README.md). Without
// --nar, the sha256 of a file's bytes; with --nar, the NAR hash (oci/nar.hpp) of a directory,
// or of the tree an archive unpacks to with its top directory stripped, as a git archive of a
// commit unpacks. Prints the hex form and the SRI form (flake.lock's, what nar_sha256 takes).
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "layers/tree_pin.hpp"
#include "oci/digest.hpp"
#include "oci/nar.hpp"
#include "util/error.hpp"

namespace ksimg::cli {

namespace {

namespace fs = std::filesystem;

struct HashOpts {
  std::string path;
  bool nar = false;
};

void run_hash(const HashOpts& o) {
  std::error_code ec;
  auto st = fs::symlink_status(o.path, ec);
  if (ec || !fs::exists(st))
    throw UsageError("no such file or directory: '" + o.path +
                     "'; give a file, an archive or (with --nar) a directory");
  oci::Digest d;
  if (!o.nar) {
    if (!fs::is_regular_file(fs::status(o.path)))
      throw UsageError("'" + o.path + "' is not a file; hash a directory's tree with --nar");
    d = oci::sha256_file(o.path);
  } else if (fs::is_directory(st)) {
    d = oci::nar_sha256(o.path);
  } else {
    d = *oci::from_sri(layers::archive_nar_sri(o.path, fs::temp_directory_path()));
  }
  std::cout << "sha256:" << d.hex() << "\n" << oci::to_sri(d) << "\n";
}

}  // namespace

void add_hash(CLI::App& app) {
  auto o = std::make_shared<HashOpts>();
  auto* c = app.add_subcommand("hash", "Print the sha256 or NAR hash (tree pin) a recipe input is pinned by");
  c->add_option("path", o->path, "A file; with --nar, a directory or an archive (tar, any compression)")
      ->required();
  c->add_flag("--nar", o->nar,
              "Hash the tree (Nix NAR serialization): a directory as it is, an archive unpacked with its "
              "single top directory stripped (as a git archive of a commit unpacks)");
  c->footer(
      "Prints two lines: sha256:<hex>, then the SRI form sha256-<base64>.\n"
      "A recipe input takes the hex digits as \"sha256\" (pin of the bytes) or the SRI form as\n"
      "\"nar_sha256\" (pin of the unpacked tree: for git archives, whose bytes are not stable).\n"
      "The NAR hash equals `nix-hash --type sha256 DIR` and the narHash in a flake.lock.\n"
      "Examples:\n"
      "  ksimg hash gcc-13.3.0.tar.xz\n"
      "  ksimg hash --nar musl-cross-make-227df8b9.tar.gz\n"
      "  ksimg hash --nar ./musl-cross-make        # a checkout, without its .git");
  c->callback([o] { run_hash(*o); });
}

}  // namespace ksimg::cli
