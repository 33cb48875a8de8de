// `ksimg kbuild VERSION --arch A` on the host (issue 6): registered here; filled in by the
// kbuild work.
#include "cli/commands.hpp"

namespace ksimg::cli {

void add_kbuild(CLI::App&) {}

}  // namespace ksimg::cli
