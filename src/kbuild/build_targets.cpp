// The build's targets and artifacts: each target's steps as target_steps() (plan.cpp) lists
// them, unless the config or the arch rules the target out (no CONFIG_MODULES, no device trees,
// no CONFIG_OF); then what it produced: dtbs into OUT/dtbs, modules and headers counted; then
// the artifacts with sha256s. Each target's collection copes with an arch or config for which
// the target produced nothing (0 device trees, 0 modules), and an unexpected failure names its
// target (rethrow_step_failure).
#include <algorithm>
#include <chrono>
#include <fstream>

#include "kbuild/build.hpp"
#include "kbuild/initramfs.hpp"
#include "kbuild/tuxmake.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

bool config_on(const BuildContext& c, const std::string& sym) {
  auto cfg = parse_config(files::read(c.plan.build / ".config"));
  auto it = cfg.find(sym);
  return it != cfg.end() && it->second == "y";
}

// Why target t cannot be built with this config on this arch, if it cannot.
std::optional<std::string> skip_reason(const BuildContext& c, const std::string& t) {
  if (t == "modules" && !config_on(c, "MODULES")) return "CONFIG_MODULES is not set";
  if (t == "dtbs" && !fs::is_directory(c.source.tree / "arch" / c.plan.kernel_arch / "boot/dts"))
    return "no device trees for this arch";
  if (t == "dtbs" && !config_on(c, "OF")) return "CONFIG_OF is not set";
  return std::nullopt;
}

// Runs one step; returns "ok" or why it was skipped (the initramfs of a cell without a libc).
std::string run_step(BuildContext& c, const Step& s, json& rec) {
  switch (s.kind) {
    case Step::Kind::make:
      if (s.fresh_dir) fs::remove_all(*s.fresh_dir);
      c.runner.must(c.plan.make_argv(c.source.tree, s.goals), s.label);
      return "ok";
    case Step::Kind::devel_tree:
      make_devel(c);
      return "ok";
    case Step::Kind::initramfs:
      return make_initramfs(c, rec);
  }
  return "ok";
}

// Runs one target; returns "ok" or "skipped: <why>". What the target produced is counted into
// rec (dtbs, modules, headers).
std::string run_target(BuildContext& c, const std::string& t, json& rec) {
  if (auto why = skip_reason(c, t)) return "skipped: " + *why;
  for (const auto& s : target_steps(c.plan, t))
    if (auto st = run_step(c, s, rec); st != "ok") return st;
  if (t == "modules") rec["count"] = count_modules(c.plan.out / "modules");
  if (t == "dtbs") rec["count"] = collect_dtbs(c.plan.build, c.plan.kernel_arch, c.plan.out);
  if (t == "headers") rec["count"] = count_files(c.plan.out / "headers");
  return "ok";
}

json artifact(const fs::path& f, const fs::path& out) {
  return {{"path", fs::relative(f, out).string()}, {"size", fs::file_size(f)}, {"sha256", sha256_file(f)}};
}

// vmlinux's ELF class and byte order against the arch's (MIPS and powerpc toolchains are
// bi-endian, so a config can silently build the other byte order).
void check_elf(BuildContext& c, json& rec, const fs::path& f) {
  std::string head(6, '\0');
  std::ifstream in(f, std::ios::binary);
  if (!in.read(head.data(), 6)) return;
  if (head.size() < 6 || head.compare(0, 4,
                                      "\x7f"
                                      "ELF") != 0)
    return;
  int bits = head[4] == 2 ? 64 : 32;
  std::string endian = head[5] == 2 ? "big" : "little";
  bool ok = bits == c.plan.bits && endian == c.plan.endian;
  rec["elf"] = {{"bits", bits}, {"endian", endian}, {"matches_arch", ok}};
  if (!ok)
    log::warn("!!! vmlinux is a " + std::to_string(bits) + "-bit " + endian +
              "-endian ELF, but this image's arch " + c.plan.arch + " is " + std::to_string(c.plan.bits) +
              "-bit " + c.plan.endian + "-endian: check the config's endianness/word-size choice");
}

const char* count_noun(const std::string& target) {
  return target == "dtbs" ? "device trees" : target == "modules" ? "modules" : "files";
}

// Regular files under dir whose name passes `keep`; 0 when dir does not exist.
template <class Keep>
size_t count_under(const fs::path& dir, Keep keep) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it)
    n += it->is_regular_file() && keep(it->path().filename().string());
  return n;
}

}  // namespace

size_t count_modules(const fs::path& dir) {
  return count_under(dir, [](const std::string& name) {
    for (const char* ext : {".ko", ".ko.xz", ".ko.gz", ".ko.zst"})
      if (name.ends_with(ext)) return true;
    return false;
  });
}

size_t count_files(const fs::path& dir) {
  return count_under(dir, [](const std::string&) { return true; });
}

size_t collect_dtbs(const fs::path& build, const std::string& kernel_arch, const fs::path& out) {
  fs::path from = build / "arch" / kernel_arch / "boot/dts", to = out / "dtbs", tmp = out / "dtbs.partial";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  size_t n = 0;
  std::error_code ec;
  if (fs::is_directory(from, ec)) {  // an arch whose `make dtbs` built nothing may not even make the dir
    for (auto it = fs::recursive_directory_iterator(from); it != fs::recursive_directory_iterator(); ++it) {
      if (!it->is_regular_file() || it->path().extension() != ".dtb") continue;
      fs::path dest = tmp / it->path().lexically_relative(from);
      fs::create_directories(dest.parent_path());
      fs::copy_file(it->path(), dest);
      ++n;
    }
  }
  fs::remove_all(to);
  fs::rename(tmp, to);
  return n;
}

void build_targets(BuildContext& c) {
  for (const auto& t : c.plan.targets) {
    log::info("kbuild: target " + t + " ...");
    auto& rec = c.meta.doc()["targets"][t];
    rec["status"] = "running";
    c.meta.save();
    auto t0 = std::chrono::steady_clock::now();
    auto secs = [&] {
      return static_cast<double>(static_cast<long long>(
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * 10)) /
             10;
    };
    try {
      std::string st = run_target(c, t, rec);
      rec["status"] = st == "ok" ? "ok" : "skipped";
      if (st != "ok") rec["reason"] = st.substr(9), log::info("  " + t + ": " + st);
      if (rec.contains("count")) log::info("  " + t + ": " + rec["count"].dump() + " " + count_noun(t));
    } catch (...) {
      rec["status"] = cancel_signal() ? "killed" : "failed";
      rec["seconds"] = secs();
      rec["cpu_seconds"] = c.meta.cpu_lap();
      rethrow_step_failure(c, t);
    }
    rec["seconds"] = secs();
    rec["cpu_seconds"] = c.meta.cpu_lap();
    c.meta.save();
  }
}

void collect_artifacts(BuildContext& c) {
  auto& a = c.meta.doc()["artifacts"];
  const fs::path& b = c.plan.build;
  auto has = [&](const char* t) {
    return std::find(c.plan.targets.begin(), c.plan.targets.end(), t) != c.plan.targets.end();
  };
  bool vmlinux = has("vmlinux"), image = has("image");
  std::vector<std::pair<fs::path, std::string>> files;
  if (vmlinux) files = {{b / "vmlinux", "vmlinux"}, {b / "System.map", "System.map"}};
  if (image) files.push_back({b / c.plan.boot_file, fs::path(c.plan.boot_file).filename().string()});
  for (const auto& [from, name] : files) {
    if (!fs::exists(from)) {
      if (name != "System.map") throw RuntimeError(from.string() + " is missing after the build");
      continue;
    }
    fs::copy_file(from, c.plan.out / name, fs::copy_options::overwrite_existing);
    a[name] = artifact(c.plan.out / name, c.plan.out);
    if (name == "vmlinux") check_elf(c, a[name], c.plan.out / name);
  }
  a[".config"] = artifact(c.plan.out / ".config", c.plan.out);
  if (auto rel = files::read_if_exists(b / "include/config/kernel.release"))
    c.meta.doc()["kernel"]["release"] = rel->substr(0, rel->find('\n'));
  if (fs::is_directory(c.plan.out / "modules"))
    a["modules"] = {{"path", "modules"}, {"count", count_modules(c.plan.out / "modules")}};
  if (has("initramfs") && fs::exists(c.plan.out / "initramfs.cpio.gz"))
    a["initramfs.cpio.gz"] = artifact(c.plan.out / "initramfs.cpio.gz", c.plan.out);
  if (has("dtbs") && fs::is_directory(c.plan.out / "dtbs"))
    a["dtbs"] = {{"path", "dtbs"}, {"count", count_files(c.plan.out / "dtbs")}};
  tuxmake_metadata(c);  // TuxMake's keys and modules.tar.xz (tuxmake.cpp)
  c.meta.save();
}

}  // namespace ksimg::kbuild
