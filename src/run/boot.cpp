// Boot tests (see boot.hpp): the qemu command from the cell's boot settings (matrix/arches.json
// boot.<era>, after kernelsmith's boot.nix qemuCmd: -M, -cpu, -m, -kernel, -dtb, -append,
// -nographic, -no-reboot under `timeout`), the console streamed into a log file, qemu stopped
// at the root-fs panic marker, and the log judged line by line.
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
      {"qemu-system-mips", "qemu-system-mips"},      {"qemu-system-mipsel", "qemu-system-mips"},
      {"qemu-system-mips64", "qemu-system-mips"},    {"qemu-system-mips64el", "qemu-system-mips"},
      {"qemu-system-arm", "qemu-system-arm"},        {"qemu-system-aarch64", "qemu-system-arm"},
      {"qemu-system-ppc", "qemu-system-ppc"},        {"qemu-system-ppc64", "qemu-system-ppc"},
      {"qemu-system-x86_64", "qemu-system-x86"},     {"qemu-system-i386", "qemu-system-x86"},
      {"qemu-system-riscv64", "qemu-system-misc"},   {"qemu-system-riscv32", "qemu-system-misc"},
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
    throw UsageError("cell " + era + "/" + arch + " has no boot settings (no bootable kernel for it); see matrix/arches.json");
  const auto& s = b->second;
  BootPlan p{era + "/" + arch, s.qemu, qemu_package(s.qemu), {}, m.boot_timeout_seconds,
             m.boot_success_regex, s.build_only, s.verified};
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

}  // namespace

BootResult judge_boot_log(const std::string& log, const std::string& success_regex) {
  const std::regex marker(success_regex, std::regex::extended);
  BootResult r;
  std::string last;
  for (const auto& line : lines_of(log)) {
    if (r.banner.empty() && line.find("Linux version ") != std::string::npos)
      r.banner = line.substr(line.find("Linux version "));
    if (!line.empty()) last = line;
    if (r.marker.empty() && std::regex_search(line, marker)) r.marker = line;
  }
  r.status = r.marker.empty() ? "failed" : "passed";
  if (!r.ok())
    r.reason = last.empty() ? "no console output (wrong console, machine or image?)"
                            : "root-fs marker not found; last line: " + last.substr(0, 160);
  return r;
}

nlohmann::ordered_json boot_record(const BootPlan& p, const BootResult& r) {
  return {{"cell", p.cell},     {"status", r.status},   {"banner", r.banner}, {"marker", r.marker},
          {"reason", r.reason}, {"seconds", r.seconds}, {"log", r.log.string()},
          {"command", p.argv},  {"verified_settings", p.verified}};
}

namespace {

std::string not_installed(const std::string& qemu, const std::string& package) {
  return qemu + " is not installed; install the Debian package " + package + " (apt-get install " + package + ")";
}

}  // namespace

std::string qemu_missing(const matrix::Matrix& m, const std::string& era, const std::string& arch) {
  auto a = m.arches.find(arch);
  if (a == m.arches.end() || !a->second.boot.count(era))
    throw UsageError("cell " + era + "/" + arch + " has no boot settings (no bootable kernel for it); see matrix/arches.json");
  const auto& q = a->second.boot.at(era).qemu;
  return subprocess::find_program(q) ? "" : not_installed(q, qemu_package(q));
}

BootResult boot(const BootPlan& plan, const fs::path& log_file) {
  if (!subprocess::find_program(plan.qemu)) throw RuntimeError(not_installed(plan.qemu, plan.package));
  if (plan.build_only) return {"build-only", "", "", "the cell's boot settings say qemu cannot boot it", 0, {}};
  std::ofstream log(log_file, std::ios::binary | std::ios::trunc);
  if (!log) throw RuntimeError("cannot write the boot log " + log_file.string());
  static volatile std::sig_atomic_t stop;
  stop = 0;
  const std::regex marker(plan.success_regex, std::regex::extended);
  std::string text, line;
  subprocess::Options o;
  o.new_process_group = true;
  o.cancel = &stop;
  o.on_output = [&](std::string_view chunk, bool) {
    log.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    if (text.size() < (size_t{16} << 20)) text.append(chunk);
    for (char c : chunk) {
      if (c != '\n') { line += c; continue; }
      if (std::regex_search(line, marker)) stop = 1;  // seen: no need to wait for the timeout
      line.clear();
    }
  };
  std::vector<std::string> argv = {"timeout", "-k", "5", std::to_string(plan.timeout_seconds)};
  argv.insert(argv.end(), plan.argv.begin(), plan.argv.end());
  auto start = std::chrono::steady_clock::now();
  auto res = subprocess::run(argv, o);
  log.close();
  BootResult r = judge_boot_log(text + "\n" + line, plan.success_regex);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.log = log_file;
  if (!r.ok() && (res.status == 124 || res.status == 137))
    r.status = "timeout", r.reason = "no root-fs marker within " + std::to_string(plan.timeout_seconds) + " s; " + r.reason;
  else if (!r.ok() && res.status != 0)
    r.reason = plan.qemu + " exited with status " + std::to_string(res.status) + "; " + r.reason;
  return r;
}

}  // namespace ksimg::run
