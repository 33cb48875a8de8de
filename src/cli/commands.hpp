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
void add_image_check(CLI::App& image);  // image check (cmd_image_check.cpp)
void add_image_index(CLI::App& image);  // image index (cmd_image_index.cpp)
void add_inspect(CLI::App& app);
void add_cell_commands(CLI::App& app);  // build, check, load
void add_lock(CLI::App& app);
void add_toolchain_layer(CLI::App& app);
void add_registry_commands(CLI::App& app);  // push, pull (cmd_push.cpp, cmd_pull.cpp)
void add_login_commands(CLI::App& app);     // login, logout (cmd_login.cpp)
void add_kbuild(CLI::App& app);             // kbuild on the host (cmd_kbuild.cpp)
void add_boot_test(CLI::App& app);          // boot-test (cmd_boot_test.cpp)
void add_hash(CLI::App& app);               // hash (cmd_hash.cpp)
void add_mirror(CLI::App& app);             // mirror push, mirror check (cmd_mirror.cpp)
void add_shell(CLI::App& app);              // shell (cmd_shell.cpp)
void add_store(CLI::App& app);              // store ls|du|gc|fsck|checkout (cmd_store.cpp)

}  // namespace ksimg::cli
