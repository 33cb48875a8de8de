// Running a runtime's process (podman, bwrap) attached to our stdin/stdout/stderr while
// SIGINT, SIGTERM and SIGHUP sent to ksimg are passed on to it, and waiting for it.
#pragma once
#include <string>
#include <vector>

namespace ksimg::run {

// Spawns args[0] (looked up on PATH) with `args`; returns its exit status, or 128 + N when
// killed by signal N. RuntimeError when it cannot be started.
int spawn_attached(const std::vector<std::string>& args);

}  // namespace ksimg::run
