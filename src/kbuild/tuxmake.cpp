// TuxMake-compatible metadata (see tuxmake.hpp). The key names and meanings follow TuxMake's
// docs/metadata.md (build, results, compiler, runtime, tools, source); TuxRun's --tuxmake
// reads build.target_arch, results.artifacts.kernel[0] and results.artifacts.modules[0],
// relative to the output directory.
#include "kbuild/tuxmake.hpp"

#include <algorithm>

#include "kbuild/build.hpp"
#include "util/log.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string tuxmake_arch(const std::string& arch) {
  if (arch.rfind("mips", 0) == 0) return "mips";  // TuxMake has one MIPS arch name
  if (arch.rfind("powerpc", 0) == 0) return "powerpc";
  if (arch == "riscv64") return "riscv";
  return arch;  // armel, armhf, arm64, x86_64 are TuxMake's names too
}

namespace {

std::string str(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
}

// results.artifacts: the kernel (the boot image when built, else vmlinux), modules, dtbs, config.
json artifacts(const json& doc, const fs::path& out, std::string kernel) {
  json a = json::object();
  const json ours = doc.value("artifacts", json::object());
  if (kernel.empty() && ours.contains("vmlinux")) kernel = "vmlinux";
  if (!kernel.empty()) a["kernel"] = {kernel};
  if (fs::exists(out / "modules.tar.xz")) a["modules"] = {"modules.tar.xz"};
  if (fs::is_directory(out / "dtbs")) {
    std::vector<std::string> dtbs;
    for (const auto& e : fs::recursive_directory_iterator(out / "dtbs"))
      if (e.is_regular_file()) dtbs.push_back(fs::relative(e.path(), out).string());
    std::sort(dtbs.begin(), dtbs.end());
    a["dtbs"] = dtbs;
  }
  if (ours.contains(".config")) a["config"] = {".config"};
  if (ours.contains("vmlinux")) a["debugkernel"] = {"vmlinux", "System.map"};
  return a;
}

// results.targets: TuxMake's PASS/FAIL/SKIP and durations (seconds).
json targets(const json& doc) {
  json t = json::object();
  const json ours = doc.value("targets", json::object());
  for (const auto& [name, rec] : ours.items()) {
    std::string s = str(rec, "status");
    t[name] = {{"status", s == "ok"        ? "PASS"
                          : s == "skipped" ? "SKIP"
                                           : "FAIL"},
               {"duration", rec.value("seconds", 0.0)}};
  }
  return t;
}

bool all_pass(const json& t) {
  return std::all_of(t.begin(), t.end(), [](const json& r) { return r["status"] != "FAIL"; });
}

}  // namespace

void add_tuxmake_keys(json& doc, const fs::path& out, const std::string& kernel) {
  const json tc = doc.value("toolchain", json::object());
  const json img = doc.value("image", json::object());
  std::string gcc = str(tc, "gcc");
  std::vector<std::string> names;
  const json ts = doc.value("targets", json::object());
  for (const auto& [name, rec] : ts.items()) names.push_back(name);
  json t = targets(doc);
  doc["build"] = {{"target_arch", tuxmake_arch(str(doc, "arch"))},
                  {"toolchain", "gcc-" + gcc.substr(0, gcc.find('.'))},
                  {"targets", names},
                  {"kconfig", str(doc.value("config", json::object()), "source")},
                  {"jobs", doc.value("make", json::object()).value("jobs", 0)},
                  {"runtime", "podman"},
                  {"reproducer_cmdline", {"sh", "reproduce.sh"}}};
  doc["results"] = {
      {"status", all_pass(t) ? "PASS" : "FAIL"}, {"targets", t}, {"artifacts", artifacts(doc, out, kernel)}};
  doc["compiler"] = {
      {"name", "gcc"}, {"version", gcc}, {"version_full", str(tc, "cross_compile") + "gcc " + gcc}};
  doc["runtime"] = {{"image_name", img.value("ref", json(nullptr))},
                    {"image_digest", img.value("digest", json(nullptr))},
                    {"image_tag", img.value("tag", json(nullptr))}};
  doc["tools"] = {{"gcc", gcc}, {"ld", str(tc, "binutils")}, {"as", str(tc, "binutils")}};
  const json k = doc.value("kernel", json::object());
  // TuxMake's `source` keys go into kbuild's own `source` object (kind, origin, sha256), not over it.
  if (!doc["source"].is_object()) doc["source"] = json::object();
  doc["source"]["kernelversion"] = str(k, "version");
  doc["source"]["kernelrelease"] = k.value("release", json(nullptr));
}

void tuxmake_metadata(BuildContext& c) {
  const fs::path& out = c.plan.out;
  fs::remove(out / "modules.tar.xz");
  if (fs::is_directory(out / "modules/lib")) {
    std::string epoch = "@" + str(c.meta.doc(), "source_date_epoch");
    if (epoch == "@") epoch = "@0";
    c.runner.must(
        {"tar", "--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=" + epoch,
         "--clamp-mtime", "-C", (out / "modules").string(), "-cJf", (out / "modules.tar.xz").string(), "lib"},
        "modules.tar.xz");
    log::info("  modules: " + (out / "modules.tar.xz").string());
  }
  bool image = std::find(c.plan.targets.begin(), c.plan.targets.end(), "image") != c.plan.targets.end();
  add_tuxmake_keys(c.meta.doc(), out, image ? fs::path(c.plan.boot_file).filename().string() : "");
}

}  // namespace ksimg::kbuild
