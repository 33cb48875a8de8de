// Boot tests: boot a built kernel in the cell's qemu-system-* with the machine, cpu,
// memory, console, dtb and command line of matrix/arches.json (`boot.<era>`) for a bounded
// time. Without an initramfs, success is the root-fs panic marker (arches.json
// boot_success_regex): the kernel came up far enough to look for its root. With one (kbuild's
// own OUT/initramfs.cpio.gz or a user's cpio), success is a line from userspace: the init's
// KSIMG-USERSPACE-OK marker or the user's --expect regex. The qemu command follows
// kernelsmith's boot harness (its qemu machine, cpu and console per arch).
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "matrix/data.hpp"

namespace ksimg::run {

// The exit status of `kbuild --boot-test` / `ksimg kbuild --boot-test` when the kernel built
// but did not boot (1 stays "the build failed").
inline constexpr int boot_failed_exit = 5;

struct BootPlan {
  std::string cell;               // "k4/mipsel"
  std::string qemu;               // qemu-system-mipsel
  std::string package;            // the Debian package that ships it (qemu-system-mips)
  std::vector<std::string> argv;  // the whole qemu command
  int timeout_seconds = 240;
  std::string success_regex;
  bool build_only = false;  // the settings say qemu cannot boot this kernel
  bool verified = true;     // false: kernelsmith never boot-tested these settings
  std::string initramfs;    // -initrd file; empty: a root-fs boot
  std::string expect;       // with an initramfs: the user's --expect regex (empty: the init's marker)
};

// The line kbuild's own init (userland/init.c) prints once it ran its checks as PID 1.
inline constexpr const char* userspace_marker = "KSIMG-USERSPACE-OK";

// A boot with an initramfs: `file` is passed with -initrd, `append` goes after the console on
// the kernel command line, and success becomes `expect` (an extended regex; empty: the init's
// KSIMG-USERSPACE-OK marker) instead of the root-fs panic.
struct InitramfsBoot {
  std::filesystem::path file;
  std::string expect, append;
};

// Turns a root-fs plan into an initramfs boot. UsageError when `expect` is not a valid regex.
void use_initramfs(BootPlan& p, const InitramfsBoot& b);

// Appends `args` to the kernel command line of the plan (after the console).
void append_cmdline(BootPlan& p, const std::string& args);

// The Debian package that provides a qemu system binary ("qemu-system-aarch64" ->
// "qemu-system-arm"); the binary's own name when unknown.
std::string qemu_package(const std::string& qemu_binary);

// The device tree `name` in `dtb_dir` (OUT/dtbs): `dtb_dir/name` (kernels before 6.5 keep ARM
// device trees flat) or `dtb_dir/<vendor>/name` (6.5 and later: arm/versatile-pb.dtb), the
// first vendor directory in name order that has it. nullopt when neither exists.
std::optional<std::filesystem::path> find_dtb(const std::filesystem::path& dtb_dir, const std::string& name);

// The boot command for `kernel` (the arch's boot image) of cell era/arch. `dtb_dir` holds the
// built device trees (OUT/dtbs) when the settings name one (found by find_dtb). UsageError
// when the cell has no boot settings (no kernel for that arch and era) or the dtb is missing;
// `boot_config_build` (was OUT built with --boot-config; nullopt: unknown) picks advice that
// is true for how OUT was built.
BootPlan plan_boot(const matrix::Matrix& m, const std::string& era, const std::string& arch,
                   const std::filesystem::path& kernel, const std::filesystem::path& dtb_dir,
                   std::optional<bool> boot_config_build = std::nullopt);

struct BootResult {
  std::string status;  // passed | failed | timeout | build-only
  // How far the kernel got: userspace (the initramfs's marker or --expect line), root-fs (no
  // initramfs: the root-fs panic), init-failed (an initramfs whose /init the kernel could not
  // run or that died: the kernel's own words in reason), failed, timeout, build-only.
  std::string verdict;
  std::string banner;  // the first "Linux version ..." line, if any
  std::string marker;  // the line that matched the success regex
  std::string reason;  // why it failed, one line
  double seconds = 0;
  std::filesystem::path log;
  bool ok() const { return status == "passed"; }
};

// Judges a root-fs boot log: passed when a line matches `success_regex`, else failed with the
// last line the kernel printed (or "no output" when qemu printed nothing).
BootResult judge_boot_log(const std::string& log, const std::string& success_regex);

// Judges a boot log by the plan: a root-fs boot as above; an initramfs boot passes (verdict
// userspace) when a line matches the plan's success regex, is init-failed when the kernel says
// it could not execute /init ("Failed to execute /init (error -8)", named: exec format error),
// /init died ("Attempted to kill init!") or the init printed KSIMG-USERSPACE-FAIL, and failed
// when the kernel went looking for a root fs instead (it ignored the initramfs).
BootResult judge_boot(const std::string& log, const BootPlan& plan);

// metadata.json's "boot" record: cell, status, verdict, banner, marker, reason, seconds, log,
// command, and the initramfs and expect regex when one was booted.
nlohmann::ordered_json boot_record(const BootPlan& p, const BootResult& r);

// The one-line error when era/arch's qemu is not on PATH ("... install the Debian package
// qemu-system-mips ..."), or empty when it is. UsageError when the cell has no boot settings.
std::string qemu_missing(const matrix::Matrix& m, const std::string& era, const std::string& arch);

// Runs the plan: qemu's console goes to `log_file` (kept), qemu is stopped as soon as the
// marker appears, and killed at the timeout. RuntimeError naming the Debian package when the
// qemu binary is missing.
BootResult boot(const BootPlan& plan, const std::filesystem::path& log_file);

}  // namespace ksimg::run
