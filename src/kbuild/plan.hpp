// What `kbuild build` will do, computed before anything runs: the quirks
// that apply, the make command line and environment, the compiler wrappers, the config steps
// and the targets. `--dry-run` prints it; the build executes it. Pure: no I/O.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kbuild/cell.hpp"
#include "matrix/quirks.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

// The command line of `kbuild build` (see kbuild_main.cpp for the flags).
struct BuildOptions {
  std::string version;
  std::optional<fs::path> source;  // tree or tarball; default /src when it exists
  std::string mirror;              // kernel.org-layout mirror root
  std::optional<std::string> sha256;
  fs::path out = "/out";
  std::optional<fs::path> build_dir, work_dir;  // default OUT/build, OUT/work
  std::optional<std::string> defconfig;
  std::optional<fs::path> config;
  std::vector<std::string> enable, disable;
  std::vector<fs::path> fragments;
  bool config_strict = false;
  std::vector<std::string> targets;  // empty: the defaults
  int jobs = 0;                      // 0: the cores available
  std::optional<fs::path> ccache_dir;
  bool no_ccache = false;  // no ccache even when CCACHE_DIR is set (with --ccache-dir: UsageError)
  bool force = false, dry_run = false;
  bool boot_config = false;                     // defconfig + enable + disable of arches.json boot.<era>
  std::optional<std::string> boot_config_data;  // those values as JSON (from the host's matrix)
  bool boot_test = false;                       // boot the result in qemu (needs qemu-system-* on PATH)
  std::optional<std::string> init_abi;          // the initramfs target's /init for a compat ABI (i386)
};

// The boot config of a cell (matrix/arches.json `arches.<arch>.boot.<era>`): the config that
// `ksimg boot-test` boots, defconfig (any make config target) + enable + disable.
struct BootConfig {
  std::string cell, defconfig;
  std::vector<std::string> enable, disable;
};

// The boot config of era/arch for kernel `v` from the matrix (defconfig defaults to the era's
// defconfig; `enable_by_version` symbols whose range holds `v` follow `enable`). UsageError
// when the cell has no boot settings.
BootConfig boot_config(const matrix::Matrix& m, const std::string& era, const std::string& arch,
                       const matrix::Version& v);
// As JSON text ({"cell","defconfig","enable","disable"}), and back (UsageError when malformed).
std::string boot_config_json(const BootConfig& b);
BootConfig parse_boot_config(const std::string& json_text);

// The build's targets, in the order they run. Targets stay names rather than an enum: the names
// are the user's vocabulary (--targets, metadata.json `targets` keys, reproduce.sh), checked
// once against this list by check_targets; target_steps() says what each one runs.
inline const std::vector<std::string>& all_targets() {
  static const std::vector<std::string> t = {"vmlinux", "image", "modules",  "dtbs",
                                             "headers", "devel", "initramfs"};
  return t;
}

// The targets of a build that names none: vmlinux, image, modules, dtbs; with a boot test also
// initramfs, so that the boot reaches userspace (a cell without a libc skips it and boots to
// the root-fs panic).
std::vector<std::string> default_targets(bool boot_test);

// The compat userland `abi` of `cell`'s recipe (nullptr recipe: a cell without one); UsageError
// naming the ABIs it does offer otherwise (--init-abi of kbuild and of boot-test).
const matrix::CompatUserland& require_compat(const matrix::Recipe* recipe, const std::string& cell,
                                             const std::string& abi);

// UsageError naming the first name that is not in all_targets(), and the allowed ones.
void check_targets(const std::vector<std::string>& names);

// The compilers wrapped in the build dir (target and host), each exec'ing `real` with the
// wrapper flags appended last.
struct Wrapper {
  std::string name;  // file name in the wrapper dir ("mipsel-linux-gnu-gcc", "kbuild-hostcc")
  std::string real;  // the compiler it runs (name or path)
};

// How the wrappers' flags reach the compilers (prepare_wrappers): every wrapped compiler runs
// its wrapper script, every one takes the specs file directly, or some of each.
enum class WrapperMode { script, specs, specs_and_script };
// ccache for the build: none asked for, in use (depend mode), or asked for but the image has none.
enum class CcacheMode { off, depend, missing };
// As metadata.json make.wrapper ("script" | "specs" | "specs+script") and make.ccache.mode
// ("off" | "depend" | "missing") print them.
const char* name(WrapperMode m);
const char* name(CcacheMode m);

// Where the base config comes from.
struct ConfigSource {
  enum class Kind {
    era_defconfig,  // the era's defconfig of the arch (matrix/arches.json), no flag given
    defconfig,      // --defconfig
    boot_config,    // --boot-config: the cell's boot settings (Plan::boot)
    file,           // --config: a full .config
  };
  Kind kind = Kind::era_defconfig;
  std::string defconfig;  // the make target that writes the base config (every kind but file)
  fs::path file;          // kind file: the supplied .config
  // metadata.json config.source and the --dry-run "config" line: "era default defconfig X",
  // "defconfig X", "boot-config" or "config FILE".
  std::string name() const;
};

struct Plan {
  matrix::Version version;
  std::string cell, era, arch, kernel_arch, cross_compile, image_tag, gcc;
  std::string libc;  // the recipe's libc ("none (...)" for kernel-only toolchains)
  std::optional<matrix::CompatUserland> init_abi;  // --init-abi: the init is built for this ABI
  std::vector<const matrix::Quirk*> quirks;
  fs::path out, build, work, wrapper_dir;
  int jobs = 1;
  std::optional<fs::path> ccache_dir;
  std::vector<std::string> make_vars;      // ARCH=, CROSS_COMPILE=, CC=, HOSTCC=, quirk vars, HOSTCFLAGS=
  std::map<std::string, std::string> env;  // quirk env (KBUILD_BUILD_*)
  std::vector<std::string> wrapper_flags;  // appended last to every compile
  std::vector<Wrapper> wrappers;
  WrapperMode wrapper_mode = WrapperMode::script;  // set by prepare_wrappers once it probed the compilers
  CcacheMode ccache_mode = CcacheMode::off;        // set by prepare_wrappers
  std::vector<std::string> patches;                // built-in patches to apply
  matrix::Normalize normalize = matrix::Normalize::olddefconfig;  // a config_normalize quirk changes it
  std::vector<const matrix::Quirk*> config_enables, config_disables;
  int bits = 0;  // the arch's word size and byte order, checked against vmlinux
  std::string endian;
  ConfigSource config_source;
  std::optional<BootConfig> boot;          // with --boot-config: what it used
  std::vector<std::string> targets;        // resolved, in all_targets() order
  std::optional<std::string> boot_target;  // make target of the boot image (zImage), if any
  std::string boot_file;                   // relative to the build dir

  // `make -C SRC O=BUILD <vars> -jN <goals>` (SRC is filled in once the source is known).
  std::vector<std::string> make_argv(const fs::path& src, const std::vector<std::string>& goals,
                                     bool parallel = true) const;
  // A wrapper script's text: exec [ccache] REAL_PATH "$@" <wrapper flags>.
  std::string wrapper_script(const std::string& real_path, bool use_ccache) const;
  // The same flags as a gcc specs file: `*self_spec` appends them to the driver's command line,
  // after the caller's own options, exactly where the script puts them. Empty when a flag holds
  // whitespace or '%' (a spec cannot carry it) or there are no flags.
  std::string wrapper_specs() const;
  fs::path specs_file() const { return wrapper_dir.parent_path() / "wrapper.specs"; }
};

// One step of a target: a make run, or a step kbuild does itself.
struct Step {
  enum class Kind {
    make,        // make_argv(SRC, goals)
    devel_tree,  // copy what an out-of-tree module build needs into OUT/devel (devel.cpp)
    initramfs,   // compile userland/init.c and pack OUT/initramfs.cpio.gz (initramfs.cpp)
  };
  Kind kind = Kind::make;
  std::string label;                  // how the build log and errors name it (a make step: its goal)
  std::vector<std::string> goals;     // make: the goals and variables after -jN
  std::optional<fs::path> fresh_dir;  // make: emptied before it runs (the dir it installs into)
  std::string what;                   // not make: what it does, as --dry-run prints it
};

// The steps of target `t` (one of all_targets()) in order: the one list --dry-run prints and the
// build runs. The build may skip a whole target (CONFIG_MODULES or CONFIG_OF unset, no device
// trees for the arch, no libc for the initramfs); it runs no step that is not listed here.
std::vector<Step> target_steps(const Plan& p, const std::string& t);

// SOURCE_DATE_EPOCH from `env`, or 315532800 (1980-01-01) when unset.
long long epoch_from(const std::map<std::string, std::string>& env);

// "Tue Jan  1 00:00:00 UTC 1980", as `date -u -d @EPOCH` prints it.
std::string source_date(long long epoch);

// Builds the plan. `env` is the process environment (SOURCE_DATE_EPOCH, CCACHE_DIR);
// `cores` the CPUs available (used when opts.jobs is 0). Throws UsageError for unknown
// targets and for --config together with --defconfig.
Plan make_plan(const matrix::Matrix& m, const std::vector<matrix::Quirk>& quirks, const CellIdentity& id,
               const BuildOptions& opts, const matrix::Version& v,
               const std::map<std::string, std::string>& env, int cores);

// The plan as text for --dry-run (quirks with reasons, config steps, make commands).
std::string render_plan(const Plan& p, const std::string& source_text);

// Shell-quotes one word for display ("HOSTCFLAGS=-O2 -fcommon" -> 'HOSTCFLAGS=-O2 -fcommon').
std::string shell_quote(const std::string& s);
std::string shell_join(const std::vector<std::string>& argv);

// The CPUs this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace ksimg::kbuild
