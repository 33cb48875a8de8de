// Diagnostics on stderr (results go to stdout). Verbosity is process-wide.
#pragma once
#include <string>

namespace ksimg::log {

enum class Level { quiet = 0, normal = 1, verbose = 2 };

void set_level(Level l);
Level level();

void info(const std::string& msg);   // shown unless quiet
void warn(const std::string& msg);   // always shown, prefixed "warning: "
void debug(const std::string& msg);  // shown with --verbose

// True when stderr is a terminal (progress displays redraw only then).
bool stderr_is_tty();

}  // namespace ksimg::log
