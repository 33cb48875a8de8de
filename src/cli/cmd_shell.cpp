// `ksimg shell --cell C [--runtime R] [--network] [-- CMD...]`: the cell's environment around
// the current directory, for interactive work (make menuconfig, a one-off cross compile): the
// cell's layout image run with podman or the built-in runtime (store checkout + bubblewrap),
// the current directory mounted read-write at the same path and made the working directory,
// the image's Env (ARCH, CROSS_COMPILE, PATH) as is, network off unless --network, a TTY when
// stdin and stdout are terminals. Exits with the command's status. The runtime is run::Runtime
// (src/run/runtime.hpp), as for `ksimg kbuild`.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "matrix/data.hpp"
#include "matrix/resolver.hpp"
#include "oci/layout.hpp"
#include "run/podman.hpp"
#include "run/runtime.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

namespace fs = std::filesystem;

struct ShellOpts {
  std::string cell, runtime = "auto", layout, store;
  bool network = false;
  std::vector<std::string> cmd;
};

// The cell's image tag ("k4/mipsel" -> "k4-mipsel"); UsageError for an unknown cell.
std::string cell_tag(const std::string& cell) {
  return matrix::resolve_cell(matrix::get(global().data_dir), cell).image_tag;
}

run::RunOptions shell_options(const ShellOpts& o, const fs::path& cwd) {
  run::RunOptions r;
  r.network = o.network;
  r.mounts.push_back({cwd, cwd.string(), false});
  r.workdir = cwd.string();
  r.tty = isatty(0) && isatty(1);
  if (const char* term = std::getenv("TERM"); r.tty && term) r.env["TERM"] = term;
  r.env["HOME"] = "/tmp";
  run::run_as_caller(r, static_cast<unsigned>(geteuid()));
  return r;
}

void run_shell(const ShellOpts& o) {
  std::string tag = cell_tag(o.cell);
  auto layout = oci::Layout::open(o.layout);
  if (!layout.find_tag(tag))
    throw UsageError(tag + " is not in " + o.layout + "; build it first: ksimg build --cell " + o.cell);
  std::vector<std::string> cmd = o.cmd.empty() ? std::vector<std::string>{"bash", "-l"} : o.cmd;
  auto opts = shell_options(o, fs::current_path());
  auto rt = run::pick_runtime(o.runtime, o.store);
  std::string image = tag;
  if (rt->name() == "podman") {  // podman runs it from its storage: load the layout's digest there
    image = run::local_name(tag);
    if (!run::image_exists(image) ||
        run::image_field(image, "{{.Digest}}") != layout.find_tag(tag)->digest.str())
      run::load(o.layout, tag);
  }
  rt->prepare(o.layout, image);
  int status = rt->run(cmd, opts);
  if (status != 0) throw Error(static_cast<Exit>(status), "");
}

}  // namespace

void add_shell(CLI::App& app) {
  auto o = std::make_shared<ShellOpts>();
  auto* sub =
      app.add_subcommand("shell", "A shell (or CMD) in a cell's environment around the current directory");
  sub->add_option("-c,--cell", o->cell, "The cell, e.g. k4/mipsel (`ksimg matrix` lists them)")->required();
  sub->add_option("--runtime", o->runtime, "podman, builtin (store + bubblewrap) or auto")
      ->check(CLI::IsMember({"auto", "podman", "builtin"}))
      ->capture_default_str();
  sub->add_flag("--network", o->network, "Give the shell the host's network (off by default)");
  sub->add_option("--store", o->store, "Tree store of the built-in runtime (env KSIMG_STORE)");
  add_layout_option(sub, o->layout);
  sub->add_option("cmd", o->cmd, "Command to run instead of an interactive bash (after --)");
  sub->footer(
      "The current directory is mounted read-write at the same path and is the working directory;\n"
      "ARCH, CROSS_COMPILE and PATH come from the cell image. Exit status: the command's; 1 when the\n"
      "runtime cannot run here (the message names the package or sysctl), 2 for an unknown cell or\n"
      "a cell image missing from the layout.\n\n"
      "Examples:\n"
      "  cd ~/linux && ksimg shell --cell k4/mipsel                      # an interactive bash there\n"
      "  ksimg shell --cell k4/mipsel -- make O=out tinyconfig vmlinux\n"
      "  cd ~/linux-5.10.223 && ksimg shell --cell k4/mipsel -- make menuconfig   # on a terminal\n"
      "  ksimg shell --cell k6/arm64 --runtime builtin -- sh -c '${CROSS_COMPILE}gcc --version'");
  sub->callback([o] { run_shell(*o); });
}

}  // namespace ksimg::cli
