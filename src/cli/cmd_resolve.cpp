// placeholder
#include "cli/commands.hpp"
namespace ksimg::cli {
void add_resolve(CLI::App&) {}
}
