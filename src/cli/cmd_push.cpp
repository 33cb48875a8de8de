// `ksimg push` and `ksimg pull`: the registry commands (issue 5). Registered here; filled in
// by the registry work.
#include "cli/commands.hpp"

namespace ksimg::cli {

void add_registry_commands(CLI::App&) {}

}  // namespace ksimg::cli
