// Loads and validates matrix/*.json and recipes/*.json (schemas: matrix/README.md,
// recipes/README.md, where each value's source is given).
#include "matrix/data.hpp"

#include <algorithm>
#include <mutex>

#include "matrix/quirks.hpp"
#include "matrix/strict_json.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ksimg::embedded {
const std::map<std::string, std::string_view>& files();
}

namespace ksimg::matrix {

using sj::Node;

std::string Recipe::source() const {
  return kind == "tarball" ? "bootlin" : kind;
}

const CompatUserland* Recipe::find_compat(const std::string& abi) const {
  for (const auto& c : compat)
    if (c.abi == abi) return &c;
  return nullptr;
}

const std::string& Recipe::libc_on(const std::string& host_arch) const {
  return host_arch == "arm64" && libc_arm64 ? *libc_arm64 : libc;
}

std::vector<std::string> Recipe::host_arches() const {
  if (no_arm64.empty()) return {"amd64", "arm64"};
  return {"amd64"};
}

const Cell& Matrix::cell(const std::string& era, const std::string& arch) const {
  auto it = cells.find(era + "/" + arch);
  if (it == cells.end()) throw DataError("matrix/cells.json: no cell " + era + "/" + arch);
  return it->second;
}

const Recipe& Matrix::recipe(const std::string& name) const {
  auto it = recipes.find(name);
  if (it == recipes.end()) throw DataError("recipes/: no recipe named " + name);
  return it->second;
}

static Version version_at(const Node& n, const std::string& k) {
  try {
    return parse_version(n.str(k));
  } catch (const UsageError& e) {
    n.at(k).fail(e.what());
  }
}

static void load_eras(Matrix& m, const Node& root) {
  root.keys({"schema", "eras"});
  for (const Node& e : root.at("eras").items()) {
    e.keys({"name", "from", "below", "note"});
    Era era{e.str("name"), version_at(e, "from"), std::nullopt, e.str("note")};
    if (e.opt_str("below")) era.below = version_at(e, "below");
    if (!m.eras.empty() && (!m.eras.back().below || m.eras.back().below->band_compare(era.from) != 0))
      e.fail("era " + era.name + " must start where the previous band ends");
    m.eras.push_back(era);
  }
  if (m.eras.empty() || m.eras.back().below) root.fail("the last era must have \"below\": null");
}

// `enable_by_version`: [{symbol, from?, below?}], at least one bound, from < below.
static std::vector<VersionedSymbol> load_versioned(const Node& b) {
  std::vector<VersionedSymbol> out;
  if (!b.has("enable_by_version")) return out;
  for (const Node& e : b.at("enable_by_version").items()) {
    e.keys({"symbol", "from", "below"});
    VersionedSymbol v{e.str("symbol"), std::nullopt, std::nullopt};
    if (e.opt_str("from")) v.from = version_at(e, "from");
    if (e.opt_str("below")) v.below = version_at(e, "below");
    if (!v.from && !v.below) e.fail("needs \"from\" or \"below\" (otherwise list the symbol in \"enable\")");
    if (v.from && v.below && !v.from->before(*v.below)) e.fail("\"from\" must be below \"below\"");
    out.push_back(std::move(v));
  }
  return out;
}

static BootSettings load_boot(const Node& b) {
  b.keys({"qemu", "machine", "memory", "console", "cpu", "dtb", "defconfig", "enable", "enable_by_version",
          "disable", "build_only", "verified", "note"});
  BootSettings s{b.str("qemu"),
                 b.str("machine"),
                 b.str("memory"),
                 b.str("console"),
                 b.opt_str("cpu"),
                 b.opt_str("dtb"),
                 b.opt_str("defconfig"),
                 b.opt_str("note"),
                 b.strs("enable"),
                 b.strs("disable"),
                 load_versioned(b),
                 b.boolean("build_only", false),
                 b.boolean("verified", true)};
  return s;
}

static Arch load_arch(const Matrix& m, const std::string& name, const Node& a) {
  a.keys({"kernel_arch", "bits", "endian", "elf_machine", "triples", "bootlin_dir", "boot_image", "defconfig",
          "boot", "kernel_since", "no_kernel"});
  Arch r;
  r.name = name;
  r.kernel_arch = a.str("kernel_arch");
  r.bits = a.integer("bits");
  r.endian = a.str("endian");
  r.elf_machine = a.str("elf_machine");
  if (r.bits != 32 && r.bits != 64) a.at("bits").fail("must be 32 or 64");
  if (r.endian != "little" && r.endian != "big") a.at("endian").fail("must be \"little\" or \"big\"");
  for (const auto& [k, v] : a.at("triples").members()) {
    if (k != "debian" && k != "bootlin" && k != "mcm" && k != "kernel_only")
      v.fail("unknown triple kind (allowed: debian, bootlin, mcm, kernel_only)");
    r.triples[k] = a.at("triples").str(k);
  }
  r.bootlin_dir = a.opt_str("bootlin_dir");
  Node bi = a.at("boot_image");
  bi.keys({"target", "file"});
  r.boot_image = {bi.opt_str("target"), bi.str("file")};
  for (const auto& [era, v] : a.at("defconfig").members()) r.defconfig[era] = a.at("defconfig").opt_str(era);
  for (const auto& [era, v] : a.at("boot").members()) r.boot[era] = load_boot(v);
  if (a.has("kernel_since")) {
    Node ks = a.at("kernel_since");
    ks.keys({"version", "reason"});
    r.kernel_since = version_at(ks, "version");
    r.kernel_since_reason = ks.str("reason");
  }
  r.no_kernel = a.opt_str("no_kernel");
  for (const auto& e : m.eras)
    if (!r.defconfig.count(e.name)) a.at("defconfig").fail("missing era " + e.name);
  return r;
}

static void load_arches(Matrix& m, const Node& root) {
  root.keys({"schema", "arches", "boot_success_regex", "boot_timeout_seconds"});
  m.boot_success_regex = root.str("boot_success_regex");
  m.boot_timeout_seconds = root.integer("boot_timeout_seconds");
  for (const auto& [name, a] : root.at("arches").members()) {
    m.arches[name] = load_arch(m, name, a);
    m.arch_order.push_back(name);
  }
}

// Why a recipe has no arm64-hosted toolchain ("" when it has): Bootlin publishes x86_64-hosted
// SDKs only, script recipes build in the amd64 base, and a debian recipe runs on arm64 when
// its "hosts" names an arm64 package set (recipes/README.md "Host platforms").
static std::string no_arm64_reason(const std::string& kind, const Node& r) {
  if (kind == "tarball") return "Bootlin's SDKs are built for x86_64 hosts only";
  if (kind == "script") return "built from source in the amd64 base image; no arm64 build is defined";
  if (!r.has("hosts") || !r.at("hosts").has("arm64")) return "the recipe names no arm64-hosted packages";
  Node a = r.at("hosts").at("arm64");
  if (!a.raw().is_object()) a.fail("expected an object");
  if (a.has("unavailable")) return a.str("unavailable");
  return "";
}

static Recipe load_recipe(const std::string& file, const Node& r) {
  // Kind-specific keys are validated in depth by the recipes module; here the summary.
  r.keys({"name",     "kind",    "arch",   "gcc",      "binutils",      "libc", "triple", "abi",
          "note",     "compat",  "suite",  "packages", "release",       "urls", "sha256", "install_dir",
          "relocate", "builder", "inputs", "steps",    "gcc_configure", "hosts"});
  Recipe x{r.str("name"),
           r.str("kind"),
           r.str("arch"),
           r.str("gcc"),
           r.str("libc"),
           r.str("triple"),
           r.opt_str("binutils"),
           r.opt_str("abi"),
           r.opt_str("note"),
           {},
           {}};
  if (r.has("compat"))
    for (const auto& c : r.at("compat").items()) {
      c.keys({"abi", "triple", "libc"});
      x.compat.push_back({c.str("abi"), c.str("triple"), c.str("libc")});
    }
  if (x.kind != "debian" && x.kind != "tarball" && x.kind != "script")
    r.at("kind").fail("unknown kind (allowed: debian, tarball, script)");
  if (file != "recipes/" + x.name + ".json") r.at("name").fail("must match the file name");
  x.no_arm64 = no_arm64_reason(x.kind, r);
  if (x.no_arm64.empty()) x.libc_arm64 = r.at("hosts").at("arm64").opt_str("libc");
  return x;
}

static void load_cells(Matrix& m, const Node& root) {
  root.keys({"schema", "cells"});
  for (const auto& [key, c] : root.at("cells").members()) {
    c.keys({"recipe", "sources", "unsupported", "note"});
    auto slash = key.find('/');
    Cell cell;
    cell.era = key.substr(0, slash);
    cell.arch = slash == std::string::npos ? "" : key.substr(slash + 1);
    bool era_ok = std::any_of(m.eras.begin(), m.eras.end(), [&](auto& e) { return e.name == cell.era; });
    if (!era_ok || !m.arches.count(cell.arch))
      c.fail("cell key must be <era>/<arch> with a known era and arch");
    cell.recipe = c.opt_str("recipe");
    cell.unsupported = c.opt_str("unsupported");
    cell.note = c.opt_str("note");
    if (cell.recipe.has_value() == cell.unsupported.has_value())
      c.fail("a cell has exactly one of \"recipe\" or \"unsupported\"");
    if (c.has("sources"))
      for (const auto& [src, v] : c.at("sources").members()) cell.sources[src] = c.at("sources").str(src);
    m.cells[key] = cell;
  }
}

static void load_exceptions(Matrix& m, const Node& root) {
  root.keys({"schema", "exceptions"});
  for (const Node& e : root.at("exceptions").items()) {
    e.keys({"id", "arch", "from", "below", "require", "use_cell", "reason", "evidence"});
    Exception x;
    x.id = e.str("id");
    x.arch = e.str("arch");
    x.from = version_at(e, "from");
    x.below = version_at(e, "below");
    x.use_cell = e.str("use_cell");
    x.reason = e.str("reason");
    x.evidence = e.str("evidence");
    Node rq = e.at("require");
    rq.keys({"binutils_below", "abi"});
    x.require = {rq.opt_str("binutils_below"), rq.opt_str("abi")};
    if (!x.require.binutils_below && !x.require.abi) rq.fail("names no requirement");
    m.exceptions.push_back(x);
  }
}

void validate(const Matrix& m);  // data_check.cpp

Matrix load(const DataFiles& files) {
  auto doc = [&](const std::string& name) {
    auto it = files.find(name);
    if (it == files.end()) throw DataError(name + " is missing from the data");
    return sj::parse(it->second, name);
  };
  Matrix m;
  auto eras = doc("matrix/eras.json"), arches = doc("matrix/arches.json");
  auto cells = doc("matrix/cells.json"), exc = doc("matrix/exceptions.json");
  load_eras(m, Node(eras, "matrix/eras.json"));
  load_arches(m, Node(arches, "matrix/arches.json"));
  for (const auto& [name, text] : files) {
    if (name.rfind("recipes/", 0) != 0) continue;
    auto j = sj::parse(text, name);
    Recipe r = load_recipe(name, Node(j, name));
    m.recipes[r.name] = r;
  }
  load_cells(m, Node(cells, "matrix/cells.json"));
  load_exceptions(m, Node(exc, "matrix/exceptions.json"));
  validate(m);
  if (files.count("matrix/quirks.json")) load_quirks(files, m);  // checked here, used by kbuild
  return m;
}

DataFiles read_data_dir(const std::filesystem::path& root) {
  DataFiles out;
  for (const char* sub : {"matrix", "recipes", "layers", "userland"}) {
    std::filesystem::path dir = root / sub;
    bool optional = std::string(sub) == "layers" || std::string(sub) == "userland";
    if (optional && !std::filesystem::exists(dir)) continue;
    if (!std::filesystem::is_directory(dir))
      throw UsageError("data directory " + root.string() + " has no " + sub +
                       "/ folder; point --data-dir at a ksimg checkout");
    for (const auto& e : std::filesystem::directory_iterator(dir))
      if (e.path().extension() == (std::string(sub) == "userland" ? ".c" : ".json"))
        out[std::string(sub) + "/" + e.path().filename().string()] = files::read(e.path());
  }
  return out;
}

DataFiles data_files(const std::string& root) {
  if (!root.empty()) return read_data_dir(root);
  DataFiles f;
  for (const auto& [k, v] : embedded::files())
    if (k.rfind("matrix/", 0) == 0 || k.rfind("recipes/", 0) == 0 || k.rfind("layers/", 0) == 0 ||
        k.rfind("userland/", 0) == 0)
      f[k] = std::string(v);
  return f;
}

const Matrix& builtin() {
  static const Matrix m = load(data_files(""));
  return m;
}

const Matrix& get(const std::string& root) {
  if (root.empty()) return builtin();
  static std::mutex mu;
  static std::map<std::string, Matrix> cache;
  std::lock_guard lk(mu);
  auto it = cache.find(root);
  if (it == cache.end()) it = cache.emplace(root, load(read_data_dir(root))).first;
  return it->second;
}

}  // namespace ksimg::matrix
