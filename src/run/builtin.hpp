// The built-in runtime: a cell image checked out of the tree store (src/store) run under
// bubblewrap (Debian package `bubblewrap`) in new user, mount, pid, ipc, uts, cgroup and
// network namespaces (network off unless RunOptions::network or network_mode "host": then
// the host's network, 127.0.0.1 included), the image root read-only,
// /dev, /proc and a fresh /tmp, the RunOptions mounts (read-only or read-write), the image
// config's Env (then RunOptions::env), WorkingDir (unless RunOptions::workdir) and Entrypoint.
// The caller's uid is mapped to 0 inside, so what the sandbox writes belongs to the caller.
#pragma once
#include <string>
#include <vector>

#include "run/podman.hpp"
#include "store/image.hpp"

namespace ksimg::run {

// Exit status ksimg returns when the built-in runtime cannot run on this host (no bwrap,
// user namespaces off): 1, with a one-line message naming the package or the sysctl.
// Why the built-in runtime cannot run here, naming the fix; "" when it can.
std::string builtin_unavailable();

// Throws RuntimeError with builtin_unavailable() when it is not empty.
void require_builtin();

// The bwrap argv that runs `argv` (after the image's Entrypoint; the image's Cmd when empty).
std::vector<std::string> bwrap_argv(const store::PreparedImage& img, const std::vector<std::string>& argv,
                                    const RunOptions& o);

// Runs it attached to our stdio (run/attached.hpp); returns the exit status.
int run_builtin_attached(const store::PreparedImage& img, const std::vector<std::string>& argv,
                         const RunOptions& o);

// Runs it with output captured (the smoke check, tests).
subprocess::Result run_builtin(const store::PreparedImage& img, const std::vector<std::string>& argv,
                               const RunOptions& o);

}  // namespace ksimg::run
