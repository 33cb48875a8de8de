// ksimg entry point: hands over to the CLI.
#include "cli/app.hpp"

int main(int argc, char** argv) {
  return ksimg::cli::run(argc, argv);
}
