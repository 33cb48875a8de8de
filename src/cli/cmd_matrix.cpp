// placeholder
#include "cli/commands.hpp"
namespace ksimg::cli {
void add_matrix(CLI::App&) {}
}
