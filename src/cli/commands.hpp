// One registration function per subcommand file (cmd_*.cpp). app.cpp calls them all.
#pragma once
#include <CLI/CLI.hpp>

namespace ksimg::cli {

// Options every subcommand shares (set on the top-level app).
struct Global {
  bool verbose = false;
  bool quiet = false;
  std::string data_dir;  // --data-dir: read matrix/ and recipes/ from here instead of the built-in copy
};

Global& global();

void add_resolve(CLI::App& app);
void add_matrix(CLI::App& app);
void add_image(CLI::App& app);
void add_inspect(CLI::App& app);
void add_cell_commands(CLI::App& app);  // build, check, load
void add_lock(CLI::App& app);
void add_toolchain_layer(CLI::App& app);

}  // namespace ksimg::cli
