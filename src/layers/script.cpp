// The `script` toolchain kind (see script.hpp; recipes/README.md "kind script"):
// plan (script text + environment), cache key, and the build: a cached output tree under
// <cache>/script/<key>/root/<install_dir> is reused; otherwise the pinned inputs are fetched
// through the download cache, the steps run in the base image (script_run.cpp), and the
// finished tree is renamed into the cache only when the steps succeeded and installed
// <triple>-gcc. The layer is that root (install_dir and its parents listed, 0755 at the
// epoch, as tarball layers do), written canonically (mtimes clamped to the epoch).
#include "layers/script.hpp"

#include <fstream>
#include <nlohmann/json.hpp>

#include "layers/cache.hpp"
#include "layers/toolchain_kinds.hpp"
#include "oci/digest.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/log.hpp"
#include "util/tempdir.hpp"

namespace ksimg::layers {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kScriptCacheFormat = 1;  // bump when the run environment changes meaning

ScriptPlan script_plan(const matrix::Recipe& recipe, const recipes::ScriptSpec& spec,
                       const recipes::LockedRecipe& locked, int64_t epoch) {
  ScriptPlan p;
  if (spec.steps.empty()) {
    p.script = builder_template(spec.builder);
  } else {
    for (const auto& line : spec.steps) p.script += line + "\n";
  }
  std::string conf;
  for (const auto& a : spec.gcc_configure) conf += (conf.empty() ? "" : " ") + a;
  p.env = {{"TRIPLE", recipe.triple},
           {"CROSS_COMPILE", recipe.triple + "-"},
           {"PREFIX", spec.install_dir},
           {"INPUTS", "/inputs"},
           {"BUILDER", spec.builder},
           {"GCC_VERSION", recipe.gcc},
           {"BINUTILS_VERSION", recipe.binutils.value_or("")},
           {"GCC_CONFIGURE", conf},
           {"SOURCE_DATE_EPOCH", std::to_string(epoch)},
           {"HOME", "/build"},
           {"LC_ALL", "C"},
           {"TZ", "UTC"},
           {"PATH", spec.install_dir + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
  p.inputs = locked.inputs;
  return p;
}

std::string input_pin(const recipes::LockedInput& in) {
  return in.sha256.empty() ? "nar:" + in.nar_sha256 : "sha256:" + in.sha256;
}

std::string script_cache_key(const ScriptPlan& plan, const std::string& base_diff_id) {
  json k{{"format", kScriptCacheFormat},
         {"script_sha256", oci::sha256(plan.script).hex()},
         {"env", plan.env},
         {"base", base_diff_id}};
  k["inputs"] = json::array();
  for (const auto& in : plan.inputs)  // a byte pin keeps the key it had before tree pins existed
    k["inputs"].push_back(in.name + "=" + (in.sha256.empty() ? input_pin(in) : in.sha256));
  return oci::sha256(k.dump()).hex();
}

std::string tail_lines(const std::string& in, size_t lines) {
  std::string text = in;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (lines == 0) return "";
  size_t pos = text.size();
  for (size_t n = 0; n < lines; ++n) {
    if (pos == 0) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

std::string log_tail(const fs::path& log, size_t lines) {
  std::ifstream f(log, std::ios::binary);
  if (!f) return "";
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  f.seekg(size > 65536 ? size - 65536 : 0);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return tail_lines(text, lines);
}

namespace detail {

namespace {

struct Paths {
  fs::path dir;         // <cache>/script/<key>: root/<install_dir>/, build.log, build.json
  fs::path lock;        // <cache>/locks/script-<key>.lock
  fs::path failed_log;  // <cache>/script/logs/<recipe>-<key 12>.log
};

Paths paths_for(const BuildContext& ctx, const std::string& recipe, const std::string& key) {
  fs::path s = ctx.cache_root / "script";
  return {s / key, ctx.cache_root / "locks" / ("script-" + key + ".lock"),
          s / "logs" / (recipe + "-" + key.substr(0, 12) + ".log")};
}

// Every input through the download cache (the source mirror, then the tarball mirror by the
// input's name, then its URLs; a tree-pinned input by its NAR hash),
// hard-linked (or copied) into `dir` under its name.
void stage_inputs(const BuildContext& ctx, const ScriptPlan& plan, const fs::path& dir) {
  DownloadCache cache(ctx.cache_root);
  fs::create_directories(dir);
  cache.mirror = ctx.source_mirror.get();
  for (const auto& in : plan.inputs) {
    SourcePin pin{in.name, {}, in.sha256, in.nar_sha256};
    if (!ctx.tarball_mirror.empty()) {
      std::string m = ctx.tarball_mirror;
      while (m.ends_with('/')) m.pop_back();
      pin.urls.push_back(m + "/" + in.name);
    }
    pin.urls.insert(pin.urls.end(), in.urls.begin(), in.urls.end());
    auto got = cache.fetch_source(*ctx.transport, pin, ctx.verify_cache);
    log::info(in.name + ": " + (got.hit ? "cached " : "downloaded ") + got.file.string());
    std::error_code ec;
    fs::create_hard_link(got.file, dir / in.name, ec);
    if (ec) fs::copy_file(got.file, dir / in.name, fs::copy_options::overwrite_existing);
  }
}

[[noreturn]] void steps_failed(const std::string& recipe, int status, const std::string& podman_err,
                               const fs::path& log) {
  std::string tail = log_tail(log);
  if (tail.empty() && !podman_err.empty())
    throw RuntimeError("recipe " + recipe + ": podman could not run the build steps (exit " +
                       std::to_string(status) + "): " + tail_lines(podman_err, 3) +
                       "; check podman (ksimg runs it with --network=none)");
  std::string indented;
  for (size_t a = 0, b; a < tail.size(); a = b + 1) {
    b = tail.find('\n', a);
    if (b == std::string::npos) b = tail.size();
    indented += "\n  | " + tail.substr(a, b - a);
  }
  throw RuntimeError("recipe " + recipe + ": the build steps failed (exit " + std::to_string(status) +
                     "); the log is " + log.string() + ", its last lines:" + indented);
}

void write_record(const fs::path& file, const std::string& recipe, const ScriptPlan& plan,
                  const std::string& key, const std::string& base) {
  json r{{"recipe", recipe}, {"key", key}, {"base_diff_id", base}, {"env", plan.env}};
  r["inputs"] = json::array();
  for (const auto& in : plan.inputs)
    r["inputs"].push_back(
        {{"name", in.name},
         {in.sha256.empty() ? "nar_sha256" : "sha256", in.sha256.empty() ? in.nar_sha256 : in.sha256}});
  r["script_sha256"] = oci::sha256(plan.script).hex();
  files::write_atomic(file, r.dump(2) + "\n");
}

// Runs the steps in a scratch directory under <cache>/tmp; on success the result (tree,
// log, record) is renamed to `p.dir` in one step. On failure the log is kept at p.failed_log.
void build_tree(const BuildContext& ctx, const matrix::Recipe& recipe, const recipes::ScriptSpec& spec,
                const ScriptPlan& plan, const std::string& key, const ScriptBase& base, const Paths& p) {
  fs::create_directories(ctx.cache_root / "tmp");
  TempDir work("script-" + recipe.name, ctx.cache_root / "tmp");
  stage_inputs(ctx, plan, work / "inputs");
  fs::path out = work / "root" / spec.install_dir.substr(1);
  for (fs::path d : {out, work / "build", work / "ksimg", work / "result"}) fs::create_directories(d);
  files::write_atomic(work / "ksimg" / "steps.sh", plan.script);
  StepsRun run{work.path(), out, load_script_base(base), &plan, spec.install_dir};
  log::info(recipe.name + ": running the build steps in " + run.image +
            " (network off; log: " + (work / "ksimg" / "build.log").string() + ")");
  std::string podman_err;
  int status = run_steps(run, podman_err);
  fs::path log = work / "ksimg" / "build.log";
  std::string gcc = "bin/" + recipe.triple + "-gcc";
  bool has_gcc = fs::exists(fs::symlink_status(out / gcc));
  if (status != 0 || !has_gcc) {
    fs::create_directories(p.failed_log.parent_path());
    if (fs::exists(log)) fs::rename(log, p.failed_log);
    if (status != 0) steps_failed(recipe.name, status, podman_err, p.failed_log);
    throw RuntimeError("recipe " + recipe.name + ": the build steps succeeded but installed no " +
                       spec.install_dir + "/" + gcc + " (CROSS_COMPILE is " + recipe.triple +
                       "-); fix the recipe's steps (log: " + p.failed_log.string() + ")");
  }
  normalise_parents(work / "root", out, base.epoch);
  fs::rename(work / "root", work / "result" / "root");
  fs::rename(log, work / "result" / "build.log");
  write_record(work / "result" / "build.json", recipe.name, plan, key, base.layer.diff_id.str());
  fs::create_directories(p.dir.parent_path());
  fs::remove_all(p.dir);  // a leftover without root/ (we hold the key's lock)
  fs::rename(work / "result", p.dir);
  files::sync_dir(p.dir.parent_path());
}

}  // namespace

ToolchainLayer build_script(const BuildContext& ctx, const matrix::Recipe& recipe,
                            const recipes::ScriptSpec& spec, const recipes::LockedRecipe& locked,
                            int64_t epoch, const oci::Layout& layout) {
  if (locked.status != "locked")
    throw UsageError("recipe " + recipe.name + " cannot be built: " +
                     (locked.reason.empty() ? "its inputs are not pinned" : locked.reason));
  ScriptPlan plan = script_plan(recipe, spec, locked, epoch);
  ScriptBase base = script_base_layer(ctx, epoch);
  std::string key = script_cache_key(plan, base.layer.diff_id.str());
  Paths p = paths_for(ctx, recipe.name, key);
  fs::create_directories(p.lock.parent_path());
  {
    files::FileLock lock(p.lock);
    if (fs::is_directory(p.dir / "root"))
      log::info(recipe.name + ": using the cached build " + p.dir.string() + " (no rebuild)");
    else
      build_tree(ctx, recipe, spec, plan, key, base, p);
  }
  oci::LayerWriter w(layer_options(ctx, epoch, layout, "write " + recipe.name + " layer"));
  w.add_directory(p.dir / "root");
  ToolchainLayer out;
  out.layer = w.write(layout);
  out.cross_compile = recipe.triple + "-";
  out.path_dirs = {spec.install_dir + "/bin"};
  for (const auto& in : plan.inputs) out.packages.push_back(in.name + "=" + input_pin(in));
  out.source = "script " + spec.builder;
  out.target_roots = {spec.install_dir + "/" + recipe.triple, spec.install_dir + "/lib/gcc"};
  return out;
}

}  // namespace detail

}  // namespace ksimg::layers
