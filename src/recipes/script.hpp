// Script recipes (recipes/README.md "kind script"): toolchains built from source inside the
// base image. Here: validation of their kind-specific keys, and their lock entry
// (docs/lock.md): "locked" with every input when all inputs carry a sha256, else "pending"
// with the reason (an input whose pin is missing is recorded as "sha256": null).
#pragma once
#include <string>

#include "matrix/strict_json.hpp"
#include "recipes/lock.hpp"
#include "recipes/spec.hpp"

namespace ksimg::recipes {

// Validates the script keys of recipe `r` (builder, inputs, steps, install_dir,
// gcc_configure); throws DataError naming the file and JSON path.
ScriptSpec script_spec(const matrix::sj::Node& r);

// The lock entry of script recipe `s`: status "locked" with its inputs (name, urls, sha256)
// when every input is pinned; "pending" with a one-line reason naming the unpinned inputs
// and the fix otherwise.
LockedRecipe lock_script(const Spec& s);

// An input's file name: [A-Za-z0-9][A-Za-z0-9._+-]*, at most 200 characters.
bool valid_input_name(const std::string& name);

// A gcc configure argument ksimg can pass through the environment unquoted:
// "--name" or "--name=value", value of [A-Za-z0-9._,+/:=-].
bool valid_configure_arg(const std::string& arg);

// An install_dir: absolute, below /opt/, components of [A-Za-z0-9._+-] other than . and ..
bool valid_install_dir(const std::string& dir);

}  // namespace ksimg::recipes
