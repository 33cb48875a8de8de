// The compiler wrappers of quirk wno-error-wrapper (see build.hpp prepare_wrappers; why: the
// quirk's evidence in matrix/quirks.json): the wrapper flags (-Wno-error) go last
// on every target and host compile. Two carriers, same place on the command line: a gcc specs
// file whose *self_spec appends them to the driver's own argv (no extra process per compile;
// used for each compiler whose `-###` shows it works), and a /bin/sh script that execs the
// compiler with "$@" then the flags (first on PATH for anything calling the compiler by name,
// and CC=/HOSTCC= for a compiler without self_spec). bench/README.md has the measured cost.
#include <chrono>
#include <cstdlib>
#include <sstream>

#include "kbuild/build.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace {

// 2000-01-01T00:00:00Z, the specs file's mtime in every build dir.
const fs::file_time_type kSpecsMtime =
    std::chrono::file_clock::from_sys(std::chrono::sys_seconds{std::chrono::seconds{946684800}});

// Whether `line` holds `word` as one argument (gcc -### prints arguments bare or quoted).
bool has_arg(const std::string& line, const std::string& word) {
  std::istringstream in(line);
  for (std::string a; in >> a;) {
    if (a.size() >= 2 && (a.front() == '"' || a.front() == '\'') && a.back() == a.front())
      a = a.substr(1, a.size() - 2);
    if (a == word) return true;
  }
  return false;
}

// CC=/HOSTCC=/HOSTCXX= naming the script `script` now name `[ccache ]REAL -specs=FILE`.
void point_at_compiler(Plan& p, const fs::path& script, const std::string& real, bool ccache) {
  for (auto& v : p.make_vars) {
    auto eq = v.find('=');
    if (eq == std::string::npos || v.compare(eq + 1, std::string::npos, script.string()) != 0) continue;
    v = v.substr(0, eq + 1) + (ccache ? "ccache " : "") + real + " -specs=" + p.specs_file().string();
  }
}

}  // namespace

bool specs_honoured(const std::string& real, const fs::path& specs, const std::vector<std::string>& flags) {
  subprocess::Result r;
  try {
    r = subprocess::run(
        {real, "-specs=" + specs.string(), "-###", "-c", "-x", "c", "/dev/null", "-o", "/dev/null"});
  } catch (const Error&) {
    return false;  // cannot run it: the script's exec will report that properly
  }
  if (!r.ok() || flags.empty()) return false;
  std::istringstream lines(r.err);
  for (std::string l; std::getline(lines, l);) {
    if (l.find("cc1") == std::string::npos || l.rfind("COLLECT_GCC", 0) == 0) continue;
    bool all = true;
    for (const auto& f : flags) all = all && has_arg(l, f);
    if (all) return true;
  }
  return false;
}

std::map<std::string, std::string> prepare_wrappers(Plan& p) {
  fs::create_directories(p.wrapper_dir);
  bool ccache = false;
  if (p.ccache_dir) {
    ccache = subprocess::find_program("ccache").has_value();
    if (!ccache) log::warn("a ccache dir is set but this image has no ccache; building without it");
  }
  p.ccache_mode = !p.ccache_dir ? CcacheMode::off : ccache ? CcacheMode::depend : CcacheMode::missing;
  std::string specs = p.wrapper_specs();
  if (!specs.empty()) {
    files::write_atomic(p.specs_file(), specs);
    // ccache hashes a -specs= file by size and mtime, so a fresh output dir (a new file) would
    // miss on every compile; its text is hashed through CCACHE_EXTRAFILES, so a fixed mtime
    // loses nothing and lets the cache carry over between output dirs.
    std::error_code ec;
    fs::last_write_time(p.specs_file(), kSpecsMtime, ec);
    if (ec)
      log::warn("cannot set the mtime of " + p.specs_file().string() + " (" + ec.message() +
                "): ccache will not reuse results across output dirs");
  }
  int by_specs = 0, wrapped = 0;
  for (const auto& w : p.wrappers) {
    auto real = subprocess::find_program(w.real);
    if (!real) {
      if (w.name == "kbuild-hostcxx") continue;  // only needed by GCC plugins and a few host tools
      throw RuntimeError("no " + w.real + " in PATH: this image's toolchain is incomplete");
    }
    files::write_atomic(p.wrapper_dir / w.name, p.wrapper_script(real->string(), ccache), 0755);
    ++wrapped;
    bool plain_path = real->string().find_first_of(" \t'\"\\$") == std::string::npos;
    if (specs.empty() || !plain_path || !specs_honoured(real->string(), p.specs_file(), p.wrapper_flags))
      continue;
    point_at_compiler(p, p.wrapper_dir / w.name, real->string(), ccache);
    ++by_specs;
  }
  p.wrapper_mode = by_specs == 0         ? WrapperMode::script
                   : by_specs == wrapped ? WrapperMode::specs
                                         : WrapperMode::specs_and_script;
  std::map<std::string, std::string> env = p.env;
  const char* path = std::getenv("PATH");
  env["PATH"] = p.wrapper_dir.string() + ":" + (path ? path : "/usr/bin:/bin");
  if (ccache) {
    env["CCACHE_DIR"] = p.ccache_dir->string();
    // Depend mode: on a miss ccache takes the include list from the compiler's own -MMD output
    // (every kbuild compile has -Wp,-MMD) instead of running the preprocessor a second time.
    // Measured on tinyconfig+Malta 5.10.223: a cold build's CPU 1.38x -> 1.05x of --no-ccache;
    // hits (direct mode) are unchanged.
    env["CCACHE_DEPEND"] = "1";
  }
  if (ccache && by_specs > 0) env["CCACHE_EXTRAFILES"] = p.specs_file().string();  // its text is in the hash
  return env;
}

}  // namespace ksimg::kbuild
