// `ksimg login` and `ksimg logout` (issue 5): registered here; filled in by the auth work.
#include "cli/commands.hpp"

namespace ksimg::cli {

void add_login_commands(CLI::App&) {}

}  // namespace ksimg::cli
