// Turns the VERSION argument of resolve/kbuild into a Version: a typed version, or a path
// to a kernel tree (its top Makefile) or a kernel tarball (its top Makefile, read in place).
#pragma once
#include <string>

#include "matrix/version.hpp"

namespace ksimg::cli {

matrix::Version version_from_arg(const std::string& arg);

}  // namespace ksimg::cli
