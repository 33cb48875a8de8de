// Built-in patches/shims named by quirks (see patches.cpp).
#pragma once
#include <filesystem>
#include <string>

namespace ksimg::kbuild {

// Whether the patch edits the source tree (so a mounted tree must be copied first).
bool patch_needs_writable_tree(const std::string& name);

// Applies `name` to the tree `src` / build dir `build`; returns what it did, for the log.
std::string apply_patch(const std::string& name, const std::filesystem::path& src,
                        const std::filesystem::path& build, int gcc_major);

// timeconst.pl's fix: "defined(@name)" -> "@name".
std::string rewrite_defined_arrays(const std::string& perl);

}  // namespace ksimg::kbuild
