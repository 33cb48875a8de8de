// The build plan (see plan.hpp): quirks from matrix/quirks.json turned into make variables,
// environment, compiler wrappers and config steps. The boot image names and defconfigs per arch
// are matrix/arches.json's; the build sequence is kernelsmith's kernel.nix.
#include "kbuild/plan.hpp"

#include <sched.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kbuild/initramfs.hpp"
#include "util/error.hpp"

namespace ksimg::kbuild {

std::string source_date(long long epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S UTC %Y", &tm);
  return buf;
}

BootConfig boot_config(const matrix::Matrix& m, const std::string& era, const std::string& arch,
                       const matrix::Version& v) {
  const auto& a = m.arches.at(arch);
  auto b = a.boot.find(era);
  if (b == a.boot.end())
    throw UsageError("--boot-config: cell " + era + "/" + arch +
                     " has no boot settings in matrix/arches.json; pass --defconfig or --config instead");
  auto d = a.defconfig.find(era);
  std::optional<std::string> def = b->second.defconfig;
  if (!def && d != a.defconfig.end()) def = d->second;
  if (!def)
    throw UsageError("--boot-config: cell " + era + "/" + arch + " names no defconfig in its boot settings");
  BootConfig r{era + "/" + arch, *def, b->second.enable, b->second.disable};
  for (const auto& s : b->second.enable_by_version)
    if (s.applies(v)) r.enable.push_back(s.symbol);
  return r;
}

std::string boot_config_json(const BootConfig& b) {
  return nlohmann::ordered_json{
      {"cell", b.cell}, {"defconfig", b.defconfig}, {"enable", b.enable}, {"disable", b.disable}}
      .dump();
}

BootConfig parse_boot_config(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    BootConfig b{j.at("cell").get<std::string>(), j.at("defconfig").get<std::string>(),
                 j.at("enable").get<std::vector<std::string>>(),
                 j.at("disable").get<std::vector<std::string>>()};
    if (b.defconfig.empty()) throw UsageError("empty defconfig");
    return b;
  } catch (const std::exception& e) {
    throw UsageError(std::string("--boot-config-data is not {cell, defconfig, enable[], disable[]} JSON (") +
                     e.what() + "); it is meant for ksimg kbuild, use --boot-config");
  }
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return std::max(1, CPU_COUNT(&set));
}

std::string shell_quote(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                        "-_./=:,+@%") == std::string::npos)
    return s;
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string r;
  for (const auto& a : argv) r += (r.empty() ? "" : " ") + shell_quote(a);
  return r;
}

std::vector<std::string> Plan::make_argv(const fs::path& src, const std::vector<std::string>& goals,
                                         bool parallel) const {
  std::vector<std::string> a = {"make", "-C", src.string(), "O=" + build.string()};
  a.insert(a.end(), make_vars.begin(), make_vars.end());
  if (parallel) a.push_back("-j" + std::to_string(jobs));
  a.insert(a.end(), goals.begin(), goals.end());
  return a;
}

std::string Plan::wrapper_script(const std::string& real_path, bool use_ccache) const {
  std::string s =
      "#!/bin/sh\n# kbuild compiler wrapper (quirk wno-error-wrapper): flags appended last.\nexec ";
  if (use_ccache) s += "ccache ";
  s += shell_quote(real_path) + " \"$@\"";
  for (const auto& f : wrapper_flags) s += " " + shell_quote(f);
  return s + "\n";
}

void check_targets(const std::vector<std::string>& names) {
  for (const auto& x : names)
    if (std::find(all_targets().begin(), all_targets().end(), x) == all_targets().end())
      throw UsageError("unknown target \"" + x + "\" in --targets (allowed: " + shell_join(all_targets()) +
                       ")");
}

std::string Plan::wrapper_specs() const {
  std::string flags;
  for (const auto& f : wrapper_flags) {
    if (f.empty() || f.find_first_of(" \t\n%") != std::string::npos) return "";
    flags += " " + f;
  }
  if (flags.empty()) return "";
  return "*self_spec:\n+" + flags + "\n\n";
}

std::vector<Step> target_steps(const Plan& p, const std::string& t) {
  auto make = [](const std::string& goal) { return Step{Step::Kind::make, goal, {goal}, {}, {}}; };
  auto install = [&](const std::string& goal, const std::string& var, const fs::path& dir) {
    return Step{Step::Kind::make, goal, {goal, var + "=" + dir.string()}, dir, {}};
  };
  if (t == "vmlinux" || t == "dtbs") return {make(t)};
  if (t == "image") return {make(*p.boot_target)};
  if (t == "modules")
    return {make("modules"), install("modules_install", "INSTALL_MOD_PATH", p.out / "modules")};
  if (t == "headers") return {install("headers_install", "INSTALL_HDR_PATH", p.out / "headers")};
  if (t == "devel")
    return {make("modules_prepare"),
            {Step::Kind::devel_tree,
             "devel",
             {},
             {},
             "the source and build trees' files an out-of-tree module build needs, into " +
                 (p.out / "devel").string()}};
  if (t == "initramfs")
    return {{Step::Kind::initramfs,
             "initramfs",
             {},
             {},
             init_target(p).cross_compile + "gcc -static -O2 " + kInitSource + ", packed as " +
                 (p.out / "initramfs.cpio.gz").string()}};
  throw std::logic_error("target_steps: unknown target " + t);
}

const char* name(WrapperMode m) {
  switch (m) {
    case WrapperMode::script:
      return "script";
    case WrapperMode::specs:
      return "specs";
    case WrapperMode::specs_and_script:
      return "specs+script";
  }
  return "?";
}

const char* name(CcacheMode m) {
  switch (m) {
    case CcacheMode::off:
      return "off";
    case CcacheMode::depend:
      return "depend";
    case CcacheMode::missing:
      return "missing";
  }
  return "?";
}

std::string ConfigSource::name() const {
  switch (kind) {
    case Kind::era_defconfig:
      return "era default defconfig " + defconfig;
    case Kind::defconfig:
      return "defconfig " + defconfig;
    case Kind::boot_config:
      return "boot-config";
    case Kind::file:
      return "config " + file.string();
  }
  return "?";
}

std::vector<std::string> default_targets(bool boot_test) {
  std::vector<std::string> t = {"vmlinux", "image", "modules", "dtbs"};
  if (boot_test) t.push_back("initramfs");
  return t;
}

namespace {

std::vector<std::string> resolve_targets(const std::vector<std::string>& asked, const matrix::Arch& a) {
  std::vector<std::string> t = asked;
  if (t.empty()) t = default_targets(false);
  check_targets(t);
  std::vector<std::string> out;
  for (const auto& x : all_targets()) {
    if (std::find(t.begin(), t.end(), x) == t.end()) continue;
    if (x == "image" && !a.boot_image.target) continue;  // mips, powerpc: the image is vmlinux
    out.push_back(x);
  }
  if (std::find(out.begin(), out.end(), "image") != out.end() &&
      std::find(out.begin(), out.end(), "vmlinux") == out.end())
    out.insert(out.begin(), "vmlinux");  // the boot image is made from vmlinux
  return out;
}

void apply_quirk(Plan& p, const matrix::Quirk& q, std::string& hostcflags, long long epoch) {
  const auto& a = q.action;
  switch (a.kind) {
    case matrix::QuirkKind::wrapper_flag:
      p.wrapper_flags.push_back(a.value);
      break;
    case matrix::QuirkKind::make_var:
      p.make_vars.push_back(a.name + "=" + a.value);
      break;
    case matrix::QuirkKind::hostcflags:
      hostcflags += (hostcflags.empty() ? "" : " ") + a.value;
      break;
    case matrix::QuirkKind::config_enable:
      p.config_enables.push_back(&q);
      break;
    case matrix::QuirkKind::config_disable:
      p.config_disables.push_back(&q);
      break;
    case matrix::QuirkKind::config_normalize:
      p.normalize = a.normalize;
      break;
    case matrix::QuirkKind::patch:
      p.patches.push_back(a.patch);
      break;
    case matrix::QuirkKind::env:
      for (auto [k, v] : a.vars) {
        if (auto pos = v.find("{source_date}"); pos != std::string::npos)
          v.replace(pos, 13, source_date(epoch));
        p.env[k] = v;
      }
      break;
  }
}

void set_paths(Plan& p, const BuildOptions& o, const std::map<std::string, std::string>& env) {
  p.out = fs::absolute(o.out).lexically_normal();
  p.build = fs::absolute(o.build_dir.value_or(p.out / "build")).lexically_normal();
  p.work = fs::absolute(o.work_dir.value_or(p.out / "work")).lexically_normal();
  p.wrapper_dir = p.build / ".kbuild" / "bin";
  if (o.no_ccache && o.ccache_dir)
    throw UsageError("--no-ccache and --ccache-dir exclude each other; drop one");
  if (o.no_ccache) return;
  if (o.ccache_dir)
    p.ccache_dir = fs::absolute(*o.ccache_dir);
  else if (auto it = env.find("CCACHE_DIR"); it != env.end() && !it->second.empty())
    p.ccache_dir = fs::path(it->second);
}

// Where the config comes from: --config, --boot-config, --defconfig or the era's defconfig.
void set_config_source(Plan& p, const matrix::Matrix& m, const matrix::Arch& a, const BuildOptions& o) {
  bool boot = o.boot_config || o.boot_config_data;
  if (boot && (o.config || o.defconfig))
    throw UsageError(std::string("--boot-config and ") + (o.config ? "--config" : "--defconfig") +
                     " exclude each other: the boot config brings its own defconfig; drop one");
  using Kind = ConfigSource::Kind;
  if (o.config) {
    p.config_source = {Kind::file, "", *o.config};
  } else if (boot) {
    p.boot = o.boot_config_data ? parse_boot_config(*o.boot_config_data)
                                : boot_config(m, p.era, p.arch, p.version);
    p.config_source = {Kind::boot_config, p.boot->defconfig, {}};
  } else if (o.defconfig) {
    p.config_source = {Kind::defconfig, *o.defconfig, {}};
  } else {
    auto d = a.defconfig.find(p.era);
    if (d == a.defconfig.end() || !d->second)
      throw UsageError("no default defconfig for " + p.cell + "; pass --defconfig or --config");
    p.config_source = {Kind::era_defconfig, *d->second, {}};
  }
}

}  // namespace

long long epoch_from(const std::map<std::string, std::string>& env) {
  auto it = env.find("SOURCE_DATE_EPOCH");
  if (it == env.end() || it->second.empty()) return 315532800;  // 1980-01-01, as kernelsmith
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    throw UsageError("SOURCE_DATE_EPOCH=" + it->second + " is not a number of seconds");
  }
}

const matrix::CompatUserland& require_compat(const matrix::Recipe* recipe, const std::string& cell,
                                             const std::string& abi) {
  if (recipe)
    if (const auto* c = recipe->find_compat(abi)) return *c;
  std::string have;
  if (recipe)
    for (const auto& c : recipe->compat) have += (have.empty() ? "" : ", ") + c.abi;
  throw UsageError("--init-abi " + abi + ": " + cell + "'s toolchain builds no such userland (" +
                   (have.empty() ? "no compat ABI" : "compat ABIs: " + have) +
                   "); drop --init-abi or pick a listed ABI");
}

Plan make_plan(const matrix::Matrix& m, const std::vector<matrix::Quirk>& quirks, const CellIdentity& id,
               const BuildOptions& o, const matrix::Version& v, const std::map<std::string, std::string>& env,
               int cores) {
  if (o.config && o.defconfig) throw UsageError("--config and --defconfig exclude each other; pass one");
  const auto& a = m.arches.at(id.cell->arch);
  Plan p;
  p.version = v;
  p.cell = id.cell->key();
  p.era = id.cell->era;
  p.arch = a.name;
  p.kernel_arch = a.kernel_arch;
  p.bits = a.bits;
  p.endian = a.endian;
  p.cross_compile = id.recipe->triple + "-";
  p.image_tag = id.image_tag;
  p.gcc = id.recipe->gcc;
  p.libc = id.recipe->libc;
  if (o.init_abi) p.init_abi = require_compat(id.recipe, p.cell, *o.init_abi);
  set_paths(p, o, env);
  p.jobs = o.jobs > 0 ? o.jobs : cores;
  p.quirks = matrix::select_quirks(quirks, {p.era, p.arch, id.recipe->source(), v, p.gcc});
  p.wrappers = {{p.cross_compile + "gcc", p.cross_compile + "gcc"},
                {"kbuild-hostcc", "gcc"},
                {"kbuild-hostcxx", "g++"}};
  p.make_vars = {"ARCH=" + p.kernel_arch, "CROSS_COMPILE=" + p.cross_compile,
                 "CC=" + (p.wrapper_dir / (p.cross_compile + "gcc")).string(),
                 "HOSTCC=" + (p.wrapper_dir / "kbuild-hostcc").string(),
                 "HOSTCXX=" + (p.wrapper_dir / "kbuild-hostcxx").string()};
  std::string hostcflags;
  long long epoch = epoch_from(env);
  for (const auto* q : p.quirks) apply_quirk(p, *q, hostcflags, epoch);
  if (!hostcflags.empty()) p.make_vars.push_back("HOSTCFLAGS=" + hostcflags);  // one argv element
  set_config_source(p, m, a, o);
  p.targets = resolve_targets(o.targets, a);
  if (p.init_abi && std::find(p.targets.begin(), p.targets.end(), "initramfs") == p.targets.end())
    throw UsageError("--init-abi " + p.init_abi->abi +
                     " chooses the ABI of the initramfs target's /init; add "
                     "--targets initramfs");
  p.boot_target = a.boot_image.target;
  p.boot_file = a.boot_image.file;
  return p;
}

std::string render_plan(const Plan& p, const std::string& source_text) {
  std::ostringstream s;
  s << "kernel     " << p.version.str() << " (" << p.era << ", cell " << p.cell
    << ", image kernelsmith:" << p.image_tag << ")\n"
    << "source     " << source_text << "\n"
    << "output     " << p.out.string() << " (build dir " << p.build.string() << ")\n"
    << "config     " << p.config_source.name() << ", normalized with " << name(p.normalize) << "\n";
  if (p.boot)
    s << "boot cfg   " << p.boot->cell << ": " << p.boot->defconfig << ", enable "
      << shell_join(p.boot->enable) << ", disable " << shell_join(p.boot->disable) << "\n";
  s << "targets    " << shell_join(p.targets) << "  (-j" << p.jobs << ")\n"
    << "ccache     " << (p.ccache_dir ? p.ccache_dir->string() : "off") << "\n"
    << "quirks:\n";
  for (const auto* q : p.quirks)
    s << "  - " << q->id << " [" << matrix::kind_name(q->action.kind) << "]: " << q->reason << "\n";
  s << "environment:\n";
  for (const auto& [k, v] : p.env) s << "  " << k << "=" << shell_quote(v) << "\n";
  s << "config steps:\n";
  if (p.config_source.kind != ConfigSource::Kind::file)
    s << "  " << shell_join(p.make_argv("SRC", {p.config_source.defconfig}, false)) << "\n";
  else
    s << "  copy " << p.config_source.file.string() << " to " << (p.build / ".config").string()
      << "; make listnewconfig; make " << name(p.normalize) << "; report unknown symbols\n";
  for (const auto* q : p.config_enables)
    for (const auto& sym : q->action.symbols) s << "  CONFIG_" << sym << "=y (quirk " << q->id << ")\n";
  s << "  --enable/--disable/--fragment settings, then make " << name(p.normalize) << "\n";
  for (const auto* q : p.config_disables)
    for (const auto& sym : q->action.symbols)
      s << "  disable CONFIG_" << sym << (q->action.only_if_y ? " if =y" : "") << " (quirk " << q->id
        << ")\n";
  s << "  check that every requested option is in the final .config\n";
  s << "make (SRC = the kernel tree):\n";
  for (const auto& t : p.targets)
    for (const auto& step : target_steps(p, t))
      if (step.kind == Step::Kind::make)
        s << "  " << shell_join(p.make_argv("SRC", step.goals)) << "\n";
      else
        s << "  " << step.label << ": " << step.what << "\n";
  return s.str();
}

}  // namespace ksimg::kbuild
