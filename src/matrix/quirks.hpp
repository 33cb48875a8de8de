// Kernel-build quirks as data (matrix/quirks.json, schema in matrix/README.md): what kbuild
// changes about a kernel build, when, and why (each quirk's "evidence").
// A quirk's trigger selects builds by era, arch, kernel version range, toolchain gcc range and
// toolchain source; its action is one of a small closed set that kbuild knows how to apply.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "matrix/data.hpp"

namespace ksimg::matrix {

struct QuirkTrigger {
  std::vector<std::string> eras, arches, sources;  // empty = any
  std::optional<Version> kernel_from, kernel_below;
  std::optional<std::string> gcc_from, gcc_below;  // dotted toolchain gcc versions
};

// The closed set of actions (matrix/README.md "quirks.json").
enum class QuirkKind {
  wrapper_flag,      // `value` appended last to every compiler call (target and host)
  make_var,          // `name`=`value` on every make command line
  hostcflags,        // `value` appended to the one HOSTCFLAGS= argument
  env,               // `vars` set in make's environment ("{source_date}" = SOURCE_DATE_EPOCH as date -u)
  config_enable,     // `symbols` set =y after the base config, before the user's fragments
  config_disable,    // `symbols` turned off after all config steps (only when =y if only_if_y)
  config_normalize,  // `value`: the make target that normalizes a supplied .config (Normalize)
  patch,             // `patch`: a named built-in file patch or shim (kbuild/patches.cpp)
};

// The make target that normalizes a supplied .config: olddefconfig, or on trees older than
// 2.6.36 (no olddefconfig yet) oldconfig, fed `yes ""`.
enum class Normalize { olddefconfig, oldconfig };
// Its make target, as --dry-run and the build log print it.
const char* name(Normalize n);

struct QuirkAction {
  QuirkKind kind = QuirkKind::make_var;
  std::string name, value, patch;
  Normalize normalize = Normalize::olddefconfig;  // config_normalize's `value`
  std::map<std::string, std::string> vars;
  std::vector<std::string> symbols;
  bool only_if_y = true;
};

struct Quirk {
  std::string id, reason, evidence;
  QuirkTrigger trigger;
  QuirkAction action;
};

// What a trigger is matched against.
struct QuirkContext {
  std::string era, arch, source;  // source: debian | bootlin | script
  Version kernel;
  std::string gcc;  // the toolchain's gcc version ("10.2.1")
};

// The patches kbuild implements; a quirk naming another is a data error.
const std::vector<std::string>& known_patches();

std::string kind_name(QuirkKind k);

// Parses matrix/quirks.json from `files` and checks it against `m` (known eras, arches,
// sources, patches; ids unique). Throws DataError naming the file and JSON path.
std::vector<Quirk> load_quirks(const DataFiles& files, const Matrix& m);

// The quirks compiled in (matrix/quirks.json), checked against builtin().
const std::vector<Quirk>& builtin_quirks();

bool matches(const QuirkTrigger& t, const QuirkContext& c);

// The quirks whose trigger matches, in data order.
std::vector<const Quirk*> select_quirks(const std::vector<Quirk>& all, const QuirkContext& c);

}  // namespace ksimg::matrix
