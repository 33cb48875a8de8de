// The closure check (see closure.hpp). Search order from ld.so(8) and glibc's dl-load.c:
// DT_RPATH unless DT_RUNPATH is present, DT_RUNPATH, the ld.so.cache (built from
// /etc/ld.so.conf and its includes), the default directories. RPATH inherited from the
// loading executable is not modelled: each object is checked with its own paths. $LIB
// expands to Debian's "lib/<multiarch>", $PLATFORM to the host's machine name.
#include "layers/closure.hpp"

#include <elf.h>

#include <map>
#include <optional>

#include "layers/tree.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::layers {

namespace {

constexpr uint64_t kMaxElf = uint64_t{1} << 30;

struct Object {
  std::string path;  // "/usr/bin/x"
  ElfInfo elf;
};

std::string multiarch(const ElfHeader& h) {
  switch (h.machine) {
    case EM_X86_64:
      return "x86_64-linux-gnu";
    case EM_AARCH64:
      return "aarch64-linux-gnu";
    case EM_386:
      return "i386-linux-gnu";
    case EM_PPC64:
      return h.big_endian ? "powerpc64-linux-gnu" : "powerpc64le-linux-gnu";
    case EM_RISCV:
      return "riscv64-linux-gnu";
    case EM_ARM:
      return "arm-linux-gnueabihf";
    default:
      return "unknown-linux-gnu";
  }
}

std::string platform(const ElfHeader& h) {
  auto m = multiarch(h);
  return m.substr(0, m.find('-'));
}

bool under(const std::string& path, const std::vector<std::string>& roots) {
  for (const auto& r : roots) {
    std::string n = MergedTree::normalise(r);
    if (path == n || path.starts_with(n + "/")) return true;
  }
  return false;
}

bool is_host(const std::optional<ElfHeader>& h, const ElfHeader& host) {
  return h && h->machine == host.machine && h->elf_class == host.elf_class &&
         h->big_endian == host.big_endian;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

std::string expand(std::string dir, const Object& o, const ElfHeader& host) {
  std::string origin = o.path.substr(0, o.path.rfind('/'));
  for (const auto& [var, value] : {std::pair<std::string, std::string>{"ORIGIN", origin},
                                   {"LIB", "lib/" + multiarch(host)},
                                   {"PLATFORM", platform(host)}}) {
    replace_all(dir, "${" + var + "}", value);
    replace_all(dir, "$" + var, value);
  }
  return dir;
}

}  // namespace

std::vector<std::string> default_library_dirs(const ElfHeader& host) {
  std::string m = multiarch(host);
  std::vector<std::string> out{"/lib/" + m, "/usr/lib/" + m};
  if (host.elf_class == ELFCLASS64) out.insert(out.end(), {"/lib64", "/usr/lib64"});
  out.insert(out.end(), {"/lib", "/usr/lib"});
  return out;
}

namespace {

// ld.so.conf(5) as ldconfig reads it: one directory per line, '#' comments, and
// "include PATTERN" lines whose PATTERN may end in "/*" or "/*.conf" (relative patterns
// are relative to /etc).
class ConfReader {
 public:
  explicit ConfReader(const MergedTree& tree) : tree_(tree) {}

  std::vector<std::string> dirs() {
    if (tree_.find("etc/ld.so.conf"))
      read_file("etc/ld.so.conf", 0);
    else
      include("/etc/ld.so.conf.d/*.conf", 0);
    return out_;
  }

 private:
  void read_file(const std::string& path, int depth) {
    auto real = tree_.resolve(path);
    const Node* n = real ? tree_.find(*real) : nullptr;
    if (!n || !n->text || depth > 8) return;
    size_t start = 0;
    const std::string& t = *n->text;
    while (start < t.size()) {
      size_t end = std::min(t.find('\n', start), t.size());
      line(t.substr(start, end - start), depth);
      start = end + 1;
    }
  }
  void line(std::string l, int depth) {
    l = l.substr(0, l.find('#'));
    auto b = l.find_first_not_of(" \t"), e = l.find_last_not_of(" \t\r");
    if (b == std::string::npos) return;
    l = l.substr(b, e - b + 1);
    if (l.starts_with("include") && l.size() > 7 && (l[7] == ' ' || l[7] == '\t')) {
      std::string pat = l.substr(l.find_first_not_of(" \t", 7));
      include(pat[0] == '/' ? pat : "/etc/" + pat, depth + 1);
    } else if (l[0] == '/') {
      out_.push_back(l.substr(0, l.find_first_of("= \t")));
    }
  }
  void include(const std::string& pattern, int depth) {
    auto slash = pattern.rfind('/');
    std::string dir = pattern.substr(0, slash), glob = pattern.substr(slash + 1);
    std::string suffix = glob.starts_with("*") ? glob.substr(1) : glob;
    auto real = tree_.resolve(dir);
    if (!real) return;
    for (const auto& [name, node] : tree_.children(*real))
      if (glob.starts_with("*") ? name.ends_with(suffix) : name == glob) read_file(*real + "/" + name, depth);
  }

  const MergedTree& tree_;
  std::vector<std::string> out_;
};

class Checker {
 public:
  Checker(const MergedTree& tree, const ClosureOptions& opts)
      : tree_(tree),
        opts_(opts),
        conf_(ConfReader(tree).dirs()),
        defaults_(default_library_dirs(opts.host)) {}

  void check(const Object& o) {
    ++report_.binaries;
    if (o.elf.interp) note(*o.elf.interp, o, loadable(*o.elf.interp));
    for (const auto& lib : o.elf.needed) note(lib, o, find_library(lib, o));
  }

  ClosureReport finish() {
    for (auto& [lib, m] : missing_) report_.missing.push_back(std::move(m));
    return std::move(report_);
  }

 private:
  bool loadable(const std::string& path) const {
    auto real = tree_.resolve(path);
    const Node* n = real ? tree_.find(*real) : nullptr;
    return n && n->type == 'f' && is_host(n->elf, opts_.host);
  }
  bool find_library(const std::string& lib, const Object& o) const {
    if (lib.find('/') != std::string::npos) return loadable(lib[0] == '/' ? lib : expand(lib, o, opts_.host));
    std::vector<std::string> dirs;
    if (o.elf.runpath.empty()) dirs = o.elf.rpath;
    dirs.insert(dirs.end(), o.elf.runpath.begin(), o.elf.runpath.end());
    dirs.insert(dirs.end(), conf_.begin(), conf_.end());
    dirs.insert(dirs.end(), defaults_.begin(), defaults_.end());
    for (const auto& d : dirs) {
      std::string dir = expand(d, o, opts_.host);
      if (!dir.empty() && dir[0] == '/' && loadable(dir + "/" + lib)) return true;
    }
    return false;
  }
  void note(const std::string& lib, const Object& o, bool found) {
    if (found) {
      ++report_.libraries;
      return;
    }
    auto& m = missing_[lib];
    m.library = lib;
    m.needed_by.push_back(o.path);
  }

  const MergedTree& tree_;
  const ClosureOptions& opts_;
  std::vector<std::string> conf_, defaults_;
  ClosureReport report_;
  std::map<std::string, MissingLibrary> missing_;
};

}  // namespace

ClosureReport check_closure(const std::vector<std::filesystem::path>& lower,
                            const std::filesystem::path& layer, const ClosureOptions& opts) {
  MergedTree tree;
  tree.keep_text = [](const std::string& p) {
    return p == "etc/ld.so.conf" || p.starts_with("etc/ld.so.conf.d/");
  };
  for (const auto& blob : lower) tree.apply_layer(blob);
  std::vector<Object> objects;
  tree.apply_layer(layer, [&](const std::string& path, const std::string& head, oci::MemberData& rest) {
    auto h = peek_elf_header(head);
    if (!is_host(h, opts.host) || (h->type != ET_EXEC && h->type != ET_DYN) || under(path, opts.target_roots))
      return;
    try {
      objects.push_back({"/" + path, read_elf(head + rest.read(kMaxElf), "/" + path)});
    } catch (const IntegrityError& e) {
      log::warn(std::string(e.what()) + "; not checked");
    }
  });
  Checker c(tree, opts);
  for (const auto& o : objects) c.check(o);
  auto report = c.finish();
  log::debug("closure check: " + std::to_string(report.binaries) + " host ELF files, " +
             std::to_string(report.libraries) + " references resolved, " +
             std::to_string(report.missing.size()) + " missing");
  return report;
}

std::string ClosureReport::describe(size_t max_listed) const {
  std::string out;
  for (const auto& m : missing) {
    std::string by;
    for (size_t i = 0; i < m.needed_by.size() && i < max_listed; ++i) by += (i ? ", " : "") + m.needed_by[i];
    if (m.needed_by.size() > max_listed)
      by += " and " + std::to_string(m.needed_by.size() - max_listed) + " more";
    out += (out.empty() ? "" : "; ") + m.library + " (needed by " + by + ")";
  }
  return out;
}

void require_closure(const ClosureReport& report, const ClosureOptions& opts) {
  if (report.ok()) return;
  throw RuntimeError("toolchain closure check failed: " + std::to_string(report.missing.size()) + " librar" +
                     (report.missing.size() == 1 ? "y is" : "ies are") +
                     " missing from the base and toolchain layers: " + report.describe(opts.max_listed) +
                     "; add the package that provides " + (report.missing.size() == 1 ? "it" : "them") +
                     " to the recipe (recipes/) or to the base (layers/base.json)");
}

}  // namespace ksimg::layers
