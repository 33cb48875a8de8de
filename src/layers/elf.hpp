// A small ELF reader (System V gABI, "ELF-64 Object File Format"; <elf.h> structures): the
// header fields that say what a file is built for, and the dynamic-linking facts the
// toolchain closure check needs: PT_INTERP, DT_NEEDED, DT_RUNPATH, DT_RPATH, DT_SONAME.
// Both classes and byte orders; only program headers are used (stripped files have those).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::layers {

struct ElfHeader {
  int elf_class = 0;  // ELFCLASS32 or ELFCLASS64
  bool big_endian = false;
  uint16_t type = 0;     // ET_EXEC, ET_DYN, ET_REL, ...
  uint16_t machine = 0;  // EM_X86_64, EM_MIPS, ...
};

struct ElfInfo {
  ElfHeader header;
  bool dynamic = false;               // has a PT_DYNAMIC segment
  std::optional<std::string> interp;  // PT_INTERP, the program interpreter
  std::vector<std::string> needed;    // DT_NEEDED, in order
  std::vector<std::string> runpath;   // DT_RUNPATH split on ':' (unexpanded)
  std::vector<std::string> rpath;     // DT_RPATH split on ':' (unexpanded)
  std::optional<std::string> soname;  // DT_SONAME
};

// True when `bytes` starts with the ELF magic.
bool is_elf(std::string_view bytes);
// The header from the first 64 bytes (or fewer for ELF32); nullopt when not ELF or too short.
std::optional<ElfHeader> peek_elf_header(std::string_view bytes);
// Parses a whole file. Throws IntegrityError naming `name` when the ELF is truncated or its
// tables point outside the file.
ElfInfo read_elf(std::string_view bytes, const std::string& name);

// The ELF machine and class this program was compiled for (EM_X86_64 / ELFCLASS64 here).
ElfHeader host_elf();

// The ELF header of executables for a Debian architecture that images are built for ("amd64",
// "arm64"); UsageError for another.
ElfHeader debian_arch_elf(const std::string& arch);

}  // namespace ksimg::layers
