// Smoke check (see smoke.hpp). The program is freestanding (no libc): kernel toolchains have
// none, and the point is the code generator and linker, not a userland. readelf's header
// fields are compared with matrix/arches.json (bits, endian, elf_machine) and, on powerpc64,
// the recipe's `abi` (e_flags 1 = ELFv1, 2 = ELFv2, 0 = unspecified, read as ELFv1).
#include "run/smoke.hpp"

#include <regex>

#include "run/podman.hpp"
#include "util/error.hpp"

namespace ksimg::run {

std::string smoke_script(const matrix::Arch& arch) {
  std::string extra = arch.kernel_arch == "mips" ? " -mno-abicalls -fno-pic -G 0" : " -fno-pic";
  return "set -e\n"
         "CC=\"${CROSS_COMPILE}gcc\"\n"
         "echo \"dumpmachine: $($CC -dumpmachine)\"\n"
         "cd \"$(mktemp -d)\"\n"
         "printf 'int ksimg_smoke(int x) { return x * 3 + 1; }\\n"
         "void _start(void) { volatile int r = ksimg_smoke(1); for (;;) (void)r; }\\n' > s.c\n"
         "$CC -O2 -ffreestanding" +
         extra +
         " -c s.c -o s.o\n"
         "$CC -nostdlib -static" +
         extra +
         " -o s s.o\n"
         "\"${CROSS_COMPILE}readelf\" -h s\n"
         "echo \"file: $(file -b s)\"\n";
}

static std::string field(const std::string& out, const std::string& name) {
  std::regex re("(^|\\n)\\s*" + name + ":\\s*([^\\n]*)");
  std::smatch m;
  return std::regex_search(out, m, re) ? m[2].str() : "";
}

SmokeResult judge_smoke(const std::string& output, const matrix::Arch& arch, const matrix::Recipe& recipe) {
  SmokeResult r;
  r.log = output;
  r.dumpmachine = field(output, "dumpmachine");
  r.elf_class = field(output, "Class");
  r.data = field(output, "Data");
  r.machine = field(output, "Machine");
  r.flags = field(output, "Flags");
  r.file = field(output, "file");
  auto want = [&](bool ok, const std::string& what) {
    if (!ok) r.problems.push_back(what);
  };
  want(!r.dumpmachine.empty(), "gcc -dumpmachine printed nothing");
  want(r.elf_class == "ELF" + std::to_string(arch.bits),
       "class is '" + r.elf_class + "', want ELF" + std::to_string(arch.bits) +
           (arch.kernel_arch == "mips" && arch.bits == 64 ? " (n64, not n32)" : ""));
  want(r.data.find(arch.endian + " endian") != std::string::npos,
       "data is '" + r.data + "', want " + arch.endian + " endian");
  want(r.machine == arch.elf_machine, "machine is '" + r.machine + "', want '" + arch.elf_machine + "'");
  if (recipe.abi) {
    bool v2 = r.flags.find("abiv2") != std::string::npos || r.flags.rfind("0x2", 0) == 0;
    want((*recipe.abi == "elfv2") == v2, "flags are '" + r.flags + "', want ABI " + *recipe.abi);
  }
  return r;
}

SmokeResult smoke_check(const std::string& image, const matrix::Arch& arch, const matrix::Recipe& recipe,
                        const std::string& platform) {
  RunOptions o;
  o.platform = platform;
  auto res = run_in(image, {"sh", "-c", smoke_script(arch)}, o);
  SmokeResult r = judge_smoke(res.out + res.err, arch, recipe);
  if (!res.ok()) {
    std::string fix = explain_rlimit(res.err);
    r.problems.insert(r.problems.begin(), "the check exited with status " + std::to_string(res.status) +
                                              (fix.empty() ? "" : " (" + fix + ")"));
  }
  return r;
}

}  // namespace ksimg::run
