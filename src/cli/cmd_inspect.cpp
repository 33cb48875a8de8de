// `ksimg inspect`: placeholder until the OCI module lands.
#include "cli/commands.hpp"

namespace ksimg::cli {
void add_inspect(CLI::App&) {}
}  // namespace ksimg::cli
