// `ksimg image ...`: placeholder until the OCI module lands.
#include "cli/commands.hpp"

namespace ksimg::cli {
void add_image(CLI::App&) {}
}  // namespace ksimg::cli
