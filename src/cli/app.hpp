// The ksimg command line: builds the CLI11 app, dispatches, maps errors to exit codes.
#pragma once

namespace ksimg::cli {

// Runs ksimg with the given arguments and returns the process exit code.
int run(int argc, char** argv);

}  // namespace ksimg::cli
