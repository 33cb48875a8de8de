// Boot tests (see boot.hpp): the qemu command from the cell's boot settings (matrix/arches.json
// boot.<era>, after kernelsmith's boot.nix qemuCmd: -M, -cpu, -m, -kernel, -dtb, -append,
// -nographic, -no-reboot under `timeout`), the console streamed into a log file, qemu stopped
// at the success marker or at the first line after which nothing more can come (a panic, the
// power-off), and the log judged line by line.
#include "run/boot.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "util/error.hpp"
#include "util/subprocess.hpp"

namespace fs = std::filesystem;

namespace ksimg::run {

std::string qemu_package(const std::string& qemu_binary) {
  static const std::map<std::string, std::string> packages = {
      {"qemu-system-mips", "qemu-system-mips"},    {"qemu-system-mipsel", "qemu-system-mips"},
      {"qemu-system-mips64", "qemu-system-mips"},  {"qemu-system-mips64el", "qemu-system-mips"},
      {"qemu-system-arm", "qemu-system-arm"},      {"qemu-system-aarch64", "qemu-system-arm"},
      {"qemu-system-ppc", "qemu-system-ppc"},      {"qemu-system-ppc64", "qemu-system-ppc"},
      {"qemu-system-x86_64", "qemu-system-x86"},   {"qemu-system-i386", "qemu-system-x86"},
      {"qemu-system-riscv64", "qemu-system-misc"}, {"qemu-system-riscv32", "qemu-system-misc"},
  };
  auto it = packages.find(qemu_binary);
  return it == packages.end() ? qemu_binary : it->second;
}

std::optional<fs::path> find_dtb(const fs::path& dtb_dir, const std::string& name) {
  std::error_code ec;
  if (fs::is_regular_file(dtb_dir / name, ec)) return dtb_dir / name;
  std::vector<fs::path> vendors;
  for (const auto& e : fs::directory_iterator(dtb_dir, ec))
    if (e.is_directory(ec)) vendors.push_back(e.path());
  std::sort(vendors.begin(), vendors.end());
  for (const auto& v : vendors)
    if (fs::is_regular_file(v / name, ec)) return v / name;
  return std::nullopt;
}

namespace {

// Why the dtb is missing and what to do, true for how OUT was built.
std::string missing_dtb(const std::string& cell, const std::string& name, const fs::path& dir,
                        std::optional<bool> boot_config_build) {
  std::string head = "cell " + cell + " boots with device tree " + name + ", but neither " +
                     (dir / name).string() + " nor " + (dir / "<vendor>" / name).string() + " exists; ";
  if (boot_config_build.value_or(false))
    return head + "this --boot-config build ran make dtbs and it did not make " + name +
           " (see the dtbs step in the build log): the kernel's device trees do not include it";
  if (boot_config_build)
    return head +
           "this output was not built with the boot config: rebuild with ksimg kbuild --boot-config, "
           "whose config and dtbs target make it";
  return head + "boot the output of ksimg kbuild --boot-config, whose config and dtbs target make it";
}

}  // namespace

BootPlan plan_boot(const matrix::Matrix& m, const std::string& era, const std::string& arch,
                   const fs::path& kernel, const fs::path& dtb_dir, std::optional<bool> boot_config_build) {
  auto a = m.arches.find(arch);
  if (a == m.arches.end()) throw UsageError("unknown arch '" + arch + "'; 'ksimg matrix' lists them");
  auto b = a->second.boot.find(era);
  if (b == a->second.boot.end())
    throw UsageError("cell " + era + "/" + arch +
                     " has no boot settings (no bootable kernel for it); see matrix/arches.json");
  const auto& s = b->second;
  BootPlan p{era + "/" + arch,     s.qemu,       qemu_package(s.qemu), {}, m.boot_timeout_seconds,
             m.boot_success_regex, s.build_only, s.verified,           "", ""};
  p.argv = {s.qemu, "-M", s.machine};
  if (s.cpu) p.argv.insert(p.argv.end(), {"-cpu", *s.cpu});
  p.argv.insert(p.argv.end(), {"-m", s.memory, "-kernel", kernel.string()});
  if (s.dtb) {
    auto dtb = find_dtb(dtb_dir, *s.dtb);
    if (!dtb) throw UsageError(missing_dtb(p.cell, *s.dtb, dtb_dir, boot_config_build));
    p.argv.insert(p.argv.end(), {"-dtb", dtb->string()});
  }
  p.argv.insert(p.argv.end(), {"-append", s.console, "-nographic", "-no-reboot"});
  return p;
}

namespace {

// Lines of `log` without the serial console's carriage returns.
std::vector<std::string> lines_of(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    std::erase(line, '\r');
    out.push_back(std::move(line));
  }
  return out;
}

// The kernel's words for an errno it printed as "(error -N)", and what usually causes it when
// the file is an init.
std::string exec_errno(int e) {
  switch (e) {
    case -2:
      return "no such file: the initramfs has no such file, or it is dynamically linked and its ELF "
             "interpreter is missing (link it -static)";
    case -8:
      return "exec format error: not a program this kernel runs (another arch, byte order or ABI, or a "
             "kernel without BINFMT_ELF)";
    case -13:
      return "permission denied: the file is not executable (mode 0755 in the cpio)";
    case -12:
      return "out of memory";
    case -14:
      return "bad address: the ELF file is damaged or linked for another memory layout";
    default:
      return "errno " + std::to_string(-e);
  }
}

// "Attempted to kill init! exitcode=0x0000000b" in words: the signal that killed PID 1, or
// the status it exited with.
std::string init_exit(unsigned long code) {
  static const std::map<int, std::string> signals = {
      {4, "SIGILL: an instruction this CPU or kernel does not run (FPU, VFP/NEON, AltiVec/VSX or ISA level)"},
      {5, "SIGTRAP"},
      {6, "SIGABRT"},
      {7, "SIGBUS: a misaligned or unmapped access"},
      {8, "SIGFPE"},
      {9, "SIGKILL"},
      {10, "SIGBUS or SIGUSR1 (arch-dependent number)"},
      {11,
       "SIGSEGV: a bad memory access (a libc or ABI that does not match the kernel, e.g. kuser helpers "
       "off)"}};
  int sig = static_cast<int>(code & 0x7f);
  if (sig == 0)
    return "/init exited with status " + std::to_string((code >> 8) & 0xff) + " (PID 1 must never exit)";
  auto it = signals.find(sig);
  return "/init was killed by signal " + std::to_string(sig) +
         (it == signals.end() ? "" : " (" + it->second + ")");
}

// What the plan waits for, in words: "root-fs marker", "KSIMG-USERSPACE-OK marker", "line
// matching --expect 'login:'".
std::string expected(const BootPlan& p) {
  if (p.initramfs.empty()) return "root-fs marker";
  if (p.expect.empty()) return std::string(userspace_marker) + " marker";
  return "line matching --expect '" + p.expect + "'";
}

}  // namespace

BootResult judge_boot(const std::string& log, const BootPlan& plan) {
  const bool initrd = !plan.initramfs.empty();
  const std::regex want(plan.success_regex, std::regex::extended);
  static const std::regex exec_failed(
      R"((Failed to execute|Requested init) ([^ ]+)( failed)? \(error (-?[0-9]+)\))", std::regex::extended);
  static const std::regex killed(R"(Attempted to kill init! *exitcode=(0x[0-9a-fA-F]+))",
                                 std::regex::extended);
  static const std::regex root_fs(
      "VFS: Cannot open root|VFS: Unable to mount root|No filesystem could mount root", std::regex::extended);
  BootResult r;
  std::string last, init_failed, unpack_failed, fell_back;
  std::smatch m;
  for (const auto& line : lines_of(log)) {
    if (r.banner.empty() && line.find("Linux version ") != std::string::npos)
      r.banner = line.substr(line.find("Linux version "));
    if (!line.empty()) last = line;
    if (r.marker.empty() && std::regex_search(line, want)) r.marker = line;
    if (!initrd || !init_failed.empty()) continue;  // without an initramfs these lines are the marker
    if (auto at = line.find("KSIMG-USERSPACE-FAIL"); at != std::string::npos)
      init_failed = "/init ran, but a check failed: " + line.substr(at);
    else if (std::regex_search(line, m, exec_failed))
      init_failed = "the kernel could not run " + m[2].str() + ": " + m[0].str() + " = " +
                    exec_errno(std::stoi(m[4].str()));
    else if (std::regex_search(line, m, killed))
      init_failed = init_exit(std::stoul(m[1].str(), nullptr, 16)) + " (" + m[0].str() + ")";
    else if (line.find("No working init found") != std::string::npos)
      init_failed = "the initramfs has no /init (and no /sbin/init): No working init found";
    else if (auto u = line.find("Initramfs unpacking failed");
             u != std::string::npos && unpack_failed.empty())
      unpack_failed = line.substr(u);
    else if (fell_back.empty() && std::regex_search(line, root_fs))
      fell_back = line;
  }
  if (!r.marker.empty()) {
    r.status = "passed", r.verdict = initrd ? "userspace" : "root-fs";
  } else if (!init_failed.empty()) {
    r.status = "failed", r.verdict = "init-failed", r.reason = init_failed;
  } else {
    r.status = "failed", r.verdict = "failed";
    if (!unpack_failed.empty())
      r.reason = "the kernel could not unpack the initramfs: " + unpack_failed +
                 " (is its compression in the kernel's config, RD_GZIP for .gz? --boot-config has it)";
    else if (!fell_back.empty())
      r.reason = "the kernel looked for a root fs instead of running the initramfs's /init (" + fell_back +
                 "): is BLK_DEV_INITRD in its config? --boot-config has it";
    else
      r.reason = last.empty() ? "no console output (wrong console, machine or image?)"
                              : "no " + expected(plan) + "; last line: " + last.substr(0, 160);
  }
  return r;
}

BootResult judge_boot_log(const std::string& log, const std::string& success_regex) {
  BootPlan root_fs_boot;
  root_fs_boot.success_regex = success_regex;
  return judge_boot(log, root_fs_boot);
}

void append_cmdline(BootPlan& p, const std::string& args) {
  if (args.empty()) return;
  auto it = std::find(p.argv.begin(), p.argv.end(), "-append");
  if (it == p.argv.end() || it + 1 == p.argv.end())
    p.argv.insert(p.argv.end(), {"-append", args});  // plan_boot always has one; a hand-made plan may not
  else
    *(it + 1) += " " + args;
}

void use_initramfs(BootPlan& p, const InitramfsBoot& b) {
  if (!b.expect.empty()) {
    try {
      std::regex check(b.expect, std::regex::extended);
    } catch (const std::regex_error& e) {
      throw UsageError("--expect '" + b.expect + "' is not an extended regular expression (" + e.what() +
                       "); escape ( ) [ ] { } . * + ? | with a backslash to match them literally");
    }
  }
  auto it = std::find(p.argv.begin(), p.argv.end(), "-append");
  p.argv.insert(it, {"-initrd", b.file.string()});
  append_cmdline(p, b.append);
  p.initramfs = b.file.string();
  p.expect = b.expect;
  p.success_regex = b.expect.empty() ? std::string(userspace_marker) : b.expect;
}

nlohmann::ordered_json boot_record(const BootPlan& p, const BootResult& r) {
  nlohmann::ordered_json j = {{"cell", p.cell},       {"status", r.status},
                              {"verdict", r.verdict}, {"banner", r.banner},
                              {"marker", r.marker},   {"reason", r.reason},
                              {"seconds", r.seconds}, {"log", r.log.string()},
                              {"command", p.argv},    {"verified_settings", p.verified}};
  if (!p.initramfs.empty()) j["initramfs"] = p.initramfs;
  if (!p.expect.empty()) j["expect"] = p.expect;
  return j;
}

namespace {

std::string not_installed(const std::string& qemu, const std::string& package) {
  return qemu + " is not installed; install the Debian package " + package + " (apt-get install " + package +
         ")";
}

}  // namespace

std::string qemu_missing(const matrix::Matrix& m, const std::string& era, const std::string& arch) {
  auto a = m.arches.find(arch);
  if (a == m.arches.end() || !a->second.boot.count(era))
    throw UsageError("cell " + era + "/" + arch +
                     " has no boot settings (no bootable kernel for it); see matrix/arches.json");
  const auto& q = a->second.boot.at(era).qemu;
  return subprocess::find_program(q) ? "" : not_installed(q, qemu_package(q));
}

BootResult boot(const BootPlan& plan, const fs::path& log_file) {
  if (!subprocess::find_program(plan.qemu)) throw RuntimeError(not_installed(plan.qemu, plan.package));
  if (plan.build_only)
    return {"build-only", "build-only", "", "", "the cell's boot settings say qemu cannot boot it", 0, {}};
  std::ofstream log(log_file, std::ios::binary | std::ios::trunc);
  if (!log) throw RuntimeError("cannot write the boot log " + log_file.string());
  static volatile std::sig_atomic_t stop;
  stop = 0;
  const std::regex marker(plan.success_regex, std::regex::extended);
  // Lines after which the console has nothing more to say: qemu -no-reboot then sits idle.
  static const std::regex terminal(
      "Kernel panic - not syncing|reboot: (Power down|System halted|Restarting system)",
      std::regex::extended);
  std::string text, line;
  subprocess::Options o;
  o.new_process_group = true;
  o.cancel = &stop;
  o.on_output = [&](std::string_view chunk, bool) {
    log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (text.size() < (size_t{16} << 20)) text.append(chunk);
    for (char c : chunk) {
      if (c != '\n') {
        line += c;
        continue;
      }
      // seen: no need to wait for the timeout
      if (std::regex_search(line, marker) || std::regex_search(line, terminal)) stop = 1;
      line.clear();
    }
  };
  std::vector<std::string> argv = {"timeout", "-k", "5", std::to_string(plan.timeout_seconds)};
  argv.insert(argv.end(), plan.argv.begin(), plan.argv.end());
  auto start = std::chrono::steady_clock::now();
  auto res = subprocess::run(argv, o);
  log.close();
  bool stopped = stop != 0;
  BootResult r = judge_boot(text + "\n" + line, plan);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.log = log_file;
  if (r.verdict == "failed" && !stopped && (res.status == 124 || res.status == 137))
    r.status = r.verdict = "timeout",
    r.reason = "no " + expected(plan) + " within " + std::to_string(plan.timeout_seconds) + " s; " + r.reason;
  else if (!r.ok() && !stopped && res.status != 0)
    r.reason = plan.qemu + " exited with status " + std::to_string(res.status) + "; " + r.reason;
  return r;
}

}  // namespace ksimg::run
