// `kbuild build` orchestration (see build.hpp; the build sequence of kernelsmith's kernel.nix):
// cell check, plan, metadata at start, source,
// wrappers and patches, config, targets, artifacts; every failure and SIGTERM/SIGINT recorded.
#include "kbuild/build.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "kbuild/cell.hpp"
#include "kbuild/mirror.hpp"
#include "kbuild/patches.hpp"
#include "kbuild/reproduce.hpp"
#include "matrix/data.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace ksimg::kbuild {

namespace fs = std::filesystem;

namespace {

std::string mirror_of(const BuildOptions& o, const std::map<std::string, std::string>& env) {
  if (!o.mirror.empty()) return o.mirror;
  auto it = env.find("KSIMG_KERNEL_MIRROR");
  return it != env.end() && !it->second.empty() ? it->second : default_kernel_mirror;
}

void check_cell(const matrix::Matrix& m, const CellIdentity& id, const matrix::Version& v, bool force) {
  auto other = other_image_for(m, id, v);
  if (!other) return;
  std::string msg = "kernel " + v.str() + " is not built by this image (kernelsmith:" + id.image_tag +
                    "); use kernelsmith:" + *other + " (ksimg resolve " + v.str() + " --arch " +
                    id.cell->arch + " says why)";
  if (!force) throw UsageError(msg + ", or pass --force");
  log::warn("!!! --force: " + msg);
  log::warn(
      "!!! building anyway with the wrong era's toolchain; the result is not what kernelsmith vouches for");
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

nlohmann::ordered_json toolchain_facts(const Plan& p, const CellIdentity& id, Runner& r) {
  std::string gcc, ld;
  try {
    gcc = first_line(r.capture({p.cross_compile + "gcc", "-dumpfullversion", "-dumpversion"}));
  } catch (const Error&) {
    gcc = id.recipe->gcc;
  }
  try {
    ld = first_line(r.capture({p.cross_compile + "ld", "--version"}));
    ld = ld.substr(ld.rfind(' ') + 1);
  } catch (const Error&) {
    ld = id.recipe->binutils.value_or("unknown");
  }
  return {{"recipe", id.recipe->name}, {"source", id.recipe->source()},   {"gcc", gcc}, {"binutils", ld},
          {"libc", id.recipe->libc},   {"cross_compile", p.cross_compile}};
}

// The image this runs in as the host named it (metadata.json image.ref/digest), for --dry-run.
std::string image_line(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() || it->second.empty() ? std::string("unknown") : it->second;
  };
  return "image      " + get("KSIMG_IMAGE_REF") + " (digest " + get("KSIMG_IMAGE_DIGEST") + ")\n";
}

void record_start(BuildContext& c, const CellIdentity& id, const std::map<std::string, std::string>& env) {
  auto& d = c.meta.doc();
  auto get = [&](const char* k) -> nlohmann::ordered_json {
    auto it = env.find(k);
    return it == env.end() || it->second.empty() ? nlohmann::ordered_json(nullptr)
                                                 : nlohmann::ordered_json(it->second);
  };
  d["kernel"] = {{"version", c.plan.version.str()}, {"release", nullptr}};
  d["era"] = c.plan.era;
  d["cell"] = c.plan.cell;
  d["arch"] = c.plan.arch;
  d["kernel_arch"] = c.plan.kernel_arch;
  d["image"] = {{"tag", "kernelsmith:" + id.image_tag},
                {"ref", get("KSIMG_IMAGE_REF")},
                {"digest", get("KSIMG_IMAGE_DIGEST")}};
  d["source_date_epoch"] = get("SOURCE_DATE_EPOCH");
  d["quirks"] = nlohmann::ordered_json::array();
  for (const auto* q : c.plan.quirks)
    d["quirks"].push_back(
        {{"id", q->id}, {"action", matrix::kind_name(q->action.kind)}, {"reason", q->reason}});
  d["make"] = {
      {"jobs", c.plan.jobs},
      {"command", shell_join(c.plan.make_argv("SRC", {"<target>"}))},
      {"env", c.plan.env},
      {"wrapper", name(c.plan.wrapper_mode)},
      {"ccache",
       {{"mode", name(c.plan.ccache_mode)},
        {"dir", c.plan.ccache_dir ? nlohmann::ordered_json(c.plan.ccache_dir->string()) : nullptr}}}};
  d["config"] = {{"source", c.plan.config_source.name()}};
  if (c.plan.boot)
    d["config"]["boot_config"] = {{"cell", c.plan.boot->cell},
                                  {"defconfig", c.plan.boot->defconfig},
                                  {"enable", c.plan.boot->enable},
                                  {"disable", c.plan.boot->disable}};
  d["targets"] = nlohmann::ordered_json::object();
  for (const auto& t : c.plan.targets) d["targets"][t] = {{"status", "pending"}};
  d["artifacts"] = nlohmann::ordered_json::object();
  c.meta.save();
}

template <class F>
void timed(BuildContext& c, const std::string& name, F&& f) {
  log::info("kbuild: " + name + " ...");
  auto t0 = std::chrono::steady_clock::now();
  std::string status = "ok";
  try {
    f();
  } catch (...) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    c.meta.step(name, cancel_signal() ? "killed" : "failed", s);
    rethrow_step_failure(c, name);
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.meta.step(name, status, s);
}

void prepare_source(BuildContext& c, const std::string& mirror) {
  c.source = obtain_source(c.opts, c.plan, c.runner, mirror);
  bool writable = false;
  for (const auto& p : c.plan.patches) writable = writable || patch_needs_writable_tree(p);
  if (writable && !c.source.in_work_dir) c.source = writable_copy(c.source, c.plan, c.runner);
  c.meta.doc()["source"] = {{"kind", c.source.kind},
                            {"origin", c.source.origin},
                            {"tree", c.source.tree.string()},
                            {"sha256", c.source.sha256 ? nlohmann::ordered_json(*c.source.sha256) : nullptr}};
  int major = std::atoi(c.plan.gcc.c_str());
  for (const auto& p : c.plan.patches) {
    std::string what = apply_patch(p, c.source.tree, c.plan.build, major);
    log::info("kbuild: patch " + p + ": " + what);
    c.runner.note("kbuild: patch " + p + ": " + what);
  }
  c.meta.doc()["make"]["command"] = shell_join(c.plan.make_argv(c.source.tree, {"<target>"}));
}

void report_failure(const BuildContext& c, const Error& e) {
  if (c.runner.last_status() == 0) return;  // not a command's failure: the message says it all
  std::string tail = c.runner.tail(30);
  if (!tail.empty())
    std::cerr << "--- last lines of " << c.runner.log_path().string() << " ---\n" << tail << "---\n";
  if (!c.runner.first_error().empty()) std::cerr << "first error: " << c.runner.first_error() << "\n";
  (void)e;
}

void run_steps(BuildContext& c, const CellIdentity& id, const std::string& mirror) {
  timed(c, "source", [&] { prepare_source(c, mirror); });
  c.meta.doc()["toolchain"] = toolchain_facts(c.plan, id, c.runner);
  c.meta.save();
  timed(c, "config", [&] { configure(c); });
  build_targets(c);
  timed(c, "artifacts", [&] { collect_artifacts(c); });
  write_reproducer(c);
}

}  // namespace

void rethrow_step_failure(BuildContext& c, const std::string& step) {
  c.meta.doc()["failed_step"] = step;
  c.meta.save();
  try {
    throw;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw internal_error(
        "kbuild", step, e,
        (c.plan.out / "metadata.json").string() + " and " + (c.plan.out / "build.log").string());
  }
}

int run_build(const BuildOptions& o) {
  const auto& m = matrix::builtin();
  auto env = process_env();
  auto id = identify(m, env);
  auto v = matrix::parse_version(o.version);
  check_cell(m, id, v, o.force);
  std::string mirror = mirror_of(o, env);
  Plan plan = make_plan(m, matrix::builtin_quirks(), id, o, v, env, available_cores());
  if (o.dry_run) {
    std::cout << render_plan(plan, describe_source(o, mirror)) << image_line(env);
    return 0;
  }
  fs::create_directories(plan.out);
  fs::create_directories(plan.build);
  fs::remove(plan.out / "build.log");
  install_signal_handlers();
  auto make_env = prepare_wrappers(plan);  // before the copy into c: it may point CC= at the compiler
  BuildContext c{
      o, plan, Metadata(plan.out / "metadata.json"), Runner(plan.out / "build.log", std::move(make_env)), {}};
  record_start(c, id, env);
  auto t0 = std::chrono::steady_clock::now();
  try {
    run_steps(c, id, mirror);
  } catch (const Killed& k) {
    c.meta.doc()["signal"] = k.signal == SIGINT ? "SIGINT" : "SIGTERM";
    c.meta.finish("killed", k.what());
    log::warn(std::string("build ") + k.what() + "; metadata.json says \"killed\"");
    return 128 + k.signal;
  } catch (const Error& e) {
    report_failure(c, e);
    c.meta.finish("failed", e.what());
    throw;
  } catch (const std::exception& e) {  // outside any step (the steps convert their own)
    auto err = internal_error("kbuild", "build", e, (plan.out / "metadata.json").string());
    c.meta.finish("failed", err.what());
    throw err;
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  c.meta.finish("succeeded");
  log::info("kbuild: built Linux " + v.str() + " in " + std::to_string(static_cast<int>(s)) +
            "s; outputs in " + plan.out.string());
  return 0;
}

}  // namespace ksimg::kbuild
