// `ksimg mirror push REG/REPO` and `ksimg mirror check REG/REPO` (docs/mirror.md): the pinned
// sources the chosen cells need (recipes/sources.hpp), plus kernel tarballs given with their
// sha256, kept in a registry as source artifacts (registry/source_mirror.hpp) so that a CI
// that reaches only its registry builds with --source-mirror. Push fetches each source through
// the download cache (verified by its pin) before uploading it; a source it cannot fetch is
// listed at the end and makes the command fail after the others were pushed.
#include <iostream>
#include <memory>

#include "cli/build_options.hpp"
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "http/transport.hpp"
#include "layers/cache.hpp"
#include "matrix/data.hpp"
#include "oci/digest.hpp"
#include "recipes/sources.hpp"
#include "registry/source_mirror.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::cli {

namespace {

struct MirrorOpts {
  std::string target, cache;
  std::vector<std::string> cells, recipes, kernels;
  bool all = false;
  RegistryFlags reg;
};

std::vector<std::string> chosen_cells(const MirrorOpts& o) {
  if (o.all && !o.cells.empty()) throw UsageError("--all and --cell exclude each other; drop one");
  if (!o.all && o.cells.empty() && o.recipes.empty() && o.kernels.empty())
    throw UsageError(
        "nothing chosen: give --cell ERA/ARCH, --recipe NAME, --kernel URL=SHA256 (repeatable) or --all");
  if (!o.all) return o.cells;
  std::vector<std::string> out;
  for (const auto& [key, c] : matrix::get(global().data_dir).cells) out.push_back(key);
  return out;
}

// --kernel URL=SHA256: a kernel tarball by URL (file name: its basename) and sha256.
recipes::PinnedSource kernel_source(const std::string& arg) {
  auto eq = arg.rfind('=');
  std::string url = eq == std::string::npos ? "" : arg.substr(0, eq),
              hex = eq == std::string::npos ? "" : arg.substr(eq + 1);
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw UsageError("--kernel '" + arg + "': expected URL=SHA256 such as " +
                     "https://cdn.kernel.org/pub/linux/kernel/v4.x/linux-4.19.90.tar.xz=29d86c0a...");
  if (!oci::Digest::try_parse("sha256:" + hex))
    throw UsageError("--kernel '" + arg + "': the sha256 after '=' must be 64 lowercase hex digits");
  std::string name = url.substr(url.rfind('/') + 1);
  return {name, {url}, hex, "", {"kernel"}};
}

std::vector<recipes::PinnedSource> chosen_sources(const MirrorOpts& o) {
  auto cells = chosen_cells(o);
  auto specs = recipes::load_specs(matrix::data_files(global().data_dir));
  auto names = recipes::cells_recipes(global().data_dir, cells);
  names.insert(names.end(), o.recipes.begin(), o.recipes.end());
  auto out = recipes::pinned_sources(specs, names);
  for (const auto& k : o.kernels) out.push_back(kernel_source(k));
  return out;
}

std::string pin_of(const recipes::PinnedSource& s) {
  return s.sha256.empty() ? s.nar_sha256 : "sha256:" + s.sha256;
}

registry::SourceEntry entry(const recipes::PinnedSource& s) {
  return {s.name, s.urls, s.sha256, s.nar_sha256};
}

void run_push(const MirrorOpts& o) {
  auto [host, repo] = split_mirror(o.target);
  auto sources = chosen_sources(o);
  auto reg = open_registry(host, o.reg);
  layers::DownloadCache cache(layers::default_cache_root(o.cache));
  auto transport = http::make_transport();
  std::vector<std::string> failed;
  for (const auto& s : sources) {
    try {
      auto got = cache.fetch_source(*transport, {s.name, s.urls, s.sha256, s.nar_sha256});
      auto r = registry::push_source(*reg, repo, entry(s), got.file);
      std::cout << registry::action_name(r.action) << " " << s.name << " " << host << "/" << repo << ":"
                << r.tag << "@" << r.manifest.str() << "\n"
                << std::flush;
    } catch (const Error& e) {
      log::warn(s.name + ": " + e.what());
      failed.push_back(s.name + " (" + pin_of(s) + ")");
    }
  }
  log::info(std::to_string(sources.size() - failed.size()) + " of " + std::to_string(sources.size()) +
            " sources in " + o.target);
  if (failed.empty()) return;
  std::string list;
  for (const auto& f : failed) list += "\n  " + f;
  throw RuntimeError(
      std::to_string(failed.size()) + " source(s) could not be fetched, so " + o.target +
      " lacks them (the others were pushed); fetch them where their URLs are reachable, or put "
      "them in the cache (--cache), and run 'ksimg mirror push' again:" +
      list);
}

void run_check(const MirrorOpts& o) {
  auto [host, repo] = split_mirror(o.target);
  auto sources = chosen_sources(o);
  auto reg = open_registry(host, o.reg);
  size_t lacking = 0;
  for (const auto& s : sources) {
    auto st = registry::check_source(*reg, repo, entry(s));
    const char* word = st == registry::SourceState::present   ? "present"
                       : st == registry::SourceState::missing ? "missing"
                                                              : "other";
    if (st != registry::SourceState::present) ++lacking;
    std::cout << word << " " << s.name << " " << pin_of(s) << "\n";
  }
  if (lacking)
    throw RuntimeError(o.target + " lacks " + std::to_string(lacking) + " of " +
                       std::to_string(sources.size()) +
                       " pinned sources (listed as missing or other); run 'ksimg mirror push " + o.target +
                       "' with the same selection");
  log::info(o.target + " holds all " + std::to_string(sources.size()) + " pinned sources");
}

void add_selection(CLI::App* c, MirrorOpts& o) {
  c->add_option("target", o.target, "REG/REPO: the registry repository of the mirror")->required();
  c->add_option("--cell", o.cells, "A cell ERA/ARCH whose sources to mirror (repeatable)");
  c->add_option("--recipe", o.recipes, "A recipe whose sources to mirror (repeatable)");
  c->add_flag("--all", o.all, "Every cell's sources");
  c->add_option("--kernel", o.kernels, "A kernel tarball URL=SHA256 (repeatable)");
  c->add_option("--tls-verify", o.reg.tls_verify, "Verify the registry's TLS certificate")
      ->capture_default_str();
  c->add_option("--ca-file", o.reg.ca_file, "Extra CA bundle (PEM) for the registry's certificate")
      ->check(CLI::ExistingFile);
}

}  // namespace

void add_mirror(CLI::App& app) {
  auto* m =
      app.add_subcommand("mirror", "Keep every pinned source in a registry, for CIs that reach only it");
  m->require_subcommand(1);
  auto push = std::make_shared<MirrorOpts>();
  auto* p = m->add_subcommand("push", "Upload the pinned sources of the chosen cells as OCI artifacts");
  add_selection(p, *push);
  p->add_option("--cache", push->cache, "Download cache the sources are fetched through (env KSIMG_CACHE)");
  p->footer(
      "Each source (tarball recipe, script recipe input, --kernel tarball) is fetched through the\n"
      "download cache and verified by its pin, then pushed as one artifact: blob digest = its sha256,\n"
      "tag = its file name. Prints 'uploaded|skipped|mounted NAME REF' per source; exit 1 listing\n"
      "the sources that could not be fetched.\n"
      "Examples:\n"
      "  ksimg mirror push harbor.example.com/ci/sources --all\n"
      "  ksimg mirror push 127.0.0.1:5000/sources --cell k4/mips64el \\\n"
      "      --kernel https://cdn.kernel.org/pub/linux/kernel/v4.x/linux-4.19.90.tar.xz=29d86c0a...\n"
      "  ksimg build --cell k4/mips64el --source-mirror harbor.example.com/ci/sources");
  p->callback([push] { run_push(*push); });
  auto check = std::make_shared<MirrorOpts>();
  auto* c = m->add_subcommand("check", "List which pinned sources of the chosen cells the mirror lacks");
  add_selection(c, *check);
  c->footer(
      "Prints 'present|missing|other NAME PIN' per source (other: the tag holds another pin); exit 1\n"
      "when any is not present.\n"
      "Examples:\n"
      "  ksimg mirror check harbor.example.com/ci/sources --all");
  c->callback([check] { run_check(*check); });
}

}  // namespace ksimg::cli
