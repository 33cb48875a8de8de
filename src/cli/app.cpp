// Top-level CLI: global flags, subcommand registration, and the one place where
// errors become a single stderr line plus a documented exit code (README "Exit codes").
#include "cli/app.hpp"

#include <cerrno>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

void add_sbom(CLI::App& app);    // cmd_sbom.cpp
void add_verify(CLI::App& app);  // cmd_verify.cpp
void add_ci(CLI::App& app);      // cmd_ci.cpp

Global& global() {
  static Global g;
  return g;
}

static void configure(CLI::App& app) {
  app.description(
      "ksimg: kernelsmith toolchain cells as OCI images.\n"
      "Resolve a kernel version to its (era, arch) toolchain cell, assemble cell images\n"
      "as OCI layers, and build kernels inside them.");
  app.set_version_flag("--version", "ksimg 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  auto& g = global();
  app.add_flag("-v,--verbose", g.verbose, "Print debug detail on stderr")->each([](const std::string&) {
    log::set_level(log::Level::verbose);
  });
  app.add_flag("-q,--quiet", g.quiet, "Print only results and errors")->each([](const std::string&) {
    log::set_level(log::Level::quiet);
  });
  app.add_option("--data-dir", g.data_dir,
                 "Read matrix/ and recipes/ from this directory instead of the copy built into "
                 "ksimg (env KSIMG_DATA_DIR)")
      ->envname("KSIMG_DATA_DIR");
  app.footer(
      "Exit codes: 0 ok, 1 runtime failure, 2 usage error (bad flag, version, arch, cell),\n"
      "3 integrity error (digest mismatch, corrupt archive), 4 invalid project data.\n"
      "Run 'ksimg SUBCOMMAND --help' for details and examples.");
  add_resolve(app);
  add_matrix(app);
  add_image(app);
  add_inspect(app);
  add_cell_commands(app);
  add_lock(app);
  add_toolchain_layer(app);
  add_registry_commands(app);
  add_login_commands(app);
  add_kbuild(app);
  add_boot_test(app);
  add_hash(app);
  add_mirror(app);
  add_sbom(app);
  add_verify(app);
  add_ci(app);
  add_shell(app);
  add_store(app);
}

static void print_help(const std::string& text) {
  std::cout << text << (text.ends_with('\n') ? "" : "\n");
}

// The subcommands parsed so far ("kbuild", "image check"), empty before any.
static std::string subcommand_path(const CLI::App& app) {
  std::string where;
  for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
    sub = sub->get_subcommands().front();
    where += (where.empty() ? "" : " ") + sub->get_name();
  }
  return where;
}

int run(int argc, char** argv) {
  CLI::App app{"ksimg", "ksimg"};
  try {
    configure(app);
    std::string names;
    bool known = false;
    for (const auto* sub : app.get_subcommands({})) {
      names += (names.empty() ? "" : ", ") + sub->get_name();
      known = known || (argc > 1 && sub->get_name() == argv[1]);
    }
    if (argc > 1 && argv[1][0] != '-' && !known) {
      throw UsageError(std::string("unknown subcommand '") + argv[1] + "'; valid subcommands: " + names);
    }
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp&) {
    print_help(app.help());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    print_help(app.help("", CLI::AppFormatMode::All));
    return 0;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << '\n';
    return 0;
  } catch (const CLI::ParseError& e) {
    std::string where = "ksimg " + subcommand_path(app);
    if (where.back() == ' ') where.pop_back();
    std::cerr << where << ": " << e.what() << " (see '" << where << " --help')\n";
    return static_cast<int>(Exit::usage);
  } catch (const Error& e) {
    if (*e.what())
      std::cerr << "ksimg: " << e.what() << '\n';  // empty: a shell's command's status, passed on
    return static_cast<int>(e.code());
  } catch (const std::filesystem::filesystem_error& e) {
    // std::filesystem calls outside a module's own checks (create_directories, copy, ...):
    // the operation, the path and the reason, with the fix when the disk is full.
    std::cerr << "ksimg: " << describe_exception(e) << '\n';
    return static_cast<int>(Exit::failure);
  } catch (const std::exception& e) {
    std::string step = subcommand_path(app);
    std::cerr << "ksimg: "
              << internal_error("ksimg", step.empty() ? "start-up" : step, e,
                                "the command line and `ksimg --version`")
                     .what()
              << '\n';
    return static_cast<int>(Exit::failure);
  }
}

}  // namespace ksimg::cli
