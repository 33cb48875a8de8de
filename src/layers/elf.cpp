// The ELF reader (see elf.hpp; gABI chapters "ELF Header", "Program Header", "Dynamic
// Section"). Dynamic entries name strings by offset into DT_STRTAB, whose address is a
// virtual address: it is mapped back to a file offset through the PT_LOAD segments.
#include "layers/elf.hpp"

#include <elf.h>

#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#include "util/error.hpp"

namespace ksimg::layers {

namespace {

template <typename T>
T byteswap(T v) {
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(static_cast<uint16_t>(v)));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(static_cast<uint32_t>(v)));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(static_cast<uint64_t>(v)));
  return v;
}

struct Reader {
  std::string_view bytes;
  bool swap;
  const std::string& name;

  template <typename T>
  T get(uint64_t off) const {
    if (off > bytes.size() || bytes.size() - off < sizeof(T))
      throw IntegrityError(name + ": truncated ELF file (a table at offset " + std::to_string(off) +
                           " lies past its end)");
    T v;
    std::memcpy(&v, bytes.data() + off, sizeof(T));
    return swap ? byteswap(v) : v;
  }
  std::string cstr(uint64_t off) const {
    if (off >= bytes.size()) throw IntegrityError(name + ": ELF string offset past the end of the file");
    size_t end = bytes.find('\0', off);
    if (end == std::string_view::npos) throw IntegrityError(name + ": unterminated ELF string");
    return std::string(bytes.substr(off, end - off));
  }
};

// The class-specific field layouts, read field by field (so byte order is handled).
template <int Class>
struct Layout;
template <>
struct Layout<ELFCLASS64> {
  using Ehdr = Elf64_Ehdr;
  using Phdr = Elf64_Phdr;
  using Dyn = Elf64_Dyn;
  using Word = uint64_t;
};
template <>
struct Layout<ELFCLASS32> {
  using Ehdr = Elf32_Ehdr;
  using Phdr = Elf32_Phdr;
  using Dyn = Elf32_Dyn;
  using Word = uint32_t;
};

struct Segment {
  uint32_t type;
  uint64_t offset, vaddr, filesz;
};

template <int Class>
std::vector<Segment> segments(const Reader& r) {
  using L = Layout<Class>;
  uint64_t phoff = r.get<typename L::Word>(offsetof(typename L::Ehdr, e_phoff));
  uint16_t phnum = r.get<uint16_t>(offsetof(typename L::Ehdr, e_phnum));
  uint16_t phentsize = r.get<uint16_t>(offsetof(typename L::Ehdr, e_phentsize));
  if (phnum && phentsize < sizeof(typename L::Phdr)) throw IntegrityError(r.name + ": bad ELF e_phentsize");
  std::vector<Segment> out;
  for (uint16_t i = 0; i < phnum; ++i) {
    uint64_t p = phoff + uint64_t{i} * phentsize;
    out.push_back({r.get<uint32_t>(p + offsetof(typename L::Phdr, p_type)),
                   r.get<typename L::Word>(p + offsetof(typename L::Phdr, p_offset)),
                   r.get<typename L::Word>(p + offsetof(typename L::Phdr, p_vaddr)),
                   r.get<typename L::Word>(p + offsetof(typename L::Phdr, p_filesz))});
  }
  return out;
}

uint64_t file_offset(const Reader& r, const std::vector<Segment>& segs, uint64_t vaddr) {
  for (const auto& s : segs)
    if (s.type == PT_LOAD && vaddr >= s.vaddr && vaddr - s.vaddr < s.filesz)
      return s.offset + (vaddr - s.vaddr);
  throw IntegrityError(r.name + ": the ELF string table address is in no loaded segment");
}

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t colon = std::min(s.find(':', start), s.size());
    out.push_back(s.substr(start, colon - start));
    start = colon + 1;
  }
  return out;
}

struct DynEntry {
  int64_t tag;
  uint64_t val;
};

template <int Class>
std::vector<DynEntry> dyn_entries(const Reader& r, const Segment& dyn) {
  using L = Layout<Class>;
  std::vector<DynEntry> out;
  for (uint64_t off = 0; off + sizeof(typename L::Dyn) <= dyn.filesz; off += sizeof(typename L::Dyn)) {
    auto tag = static_cast<int64_t>(
        static_cast<std::make_signed_t<typename L::Word>>(r.get<typename L::Word>(dyn.offset + off)));
    if (tag == DT_NULL) break;
    out.push_back({tag, r.get<typename L::Word>(dyn.offset + off + sizeof(typename L::Word))});
  }
  return out;
}

void apply_dynamic(const Reader& r, const std::vector<Segment>& segs, const std::vector<DynEntry>& dyn,
                   ElfInfo& info) {
  std::optional<uint64_t> strtab;
  for (const auto& d : dyn)
    if (d.tag == DT_STRTAB) strtab = file_offset(r, segs, d.val);
  if (!strtab) return;
  for (const auto& d : dyn) {
    if (d.tag == DT_NEEDED) info.needed.push_back(r.cstr(*strtab + d.val));
    if (d.tag == DT_RUNPATH) info.runpath = split_path(r.cstr(*strtab + d.val));
    if (d.tag == DT_RPATH) info.rpath = split_path(r.cstr(*strtab + d.val));
    if (d.tag == DT_SONAME) info.soname = r.cstr(*strtab + d.val);
  }
}

template <int Class>
void read_segments(const Reader& r, ElfInfo& info) {
  auto segs = segments<Class>(r);
  for (const auto& s : segs) {
    if (s.type == PT_INTERP) {
      std::string interp = r.cstr(s.offset);
      info.interp = interp;
    }
    if (s.type == PT_DYNAMIC) {
      info.dynamic = true;
      apply_dynamic(r, segs, dyn_entries<Class>(r, s), info);
    }
  }
}

}  // namespace

bool is_elf(std::string_view bytes) {
  return bytes.size() >= SELFMAG && std::memcmp(bytes.data(), ELFMAG, SELFMAG) == 0;
}

std::optional<ElfHeader> peek_elf_header(std::string_view bytes) {
  if (!is_elf(bytes) || bytes.size() < sizeof(Elf32_Ehdr)) return std::nullopt;
  ElfHeader h;
  h.elf_class = static_cast<unsigned char>(bytes[EI_CLASS]);
  h.big_endian = static_cast<unsigned char>(bytes[EI_DATA]) == ELFDATA2MSB;
  if ((h.elf_class != ELFCLASS32 && h.elf_class != ELFCLASS64) ||
      (!h.big_endian && static_cast<unsigned char>(bytes[EI_DATA]) != ELFDATA2LSB))
    return std::nullopt;
  bool swap = h.big_endian != (std::endian::native == std::endian::big);
  uint16_t type, machine;
  std::memcpy(&type, bytes.data() + offsetof(Elf32_Ehdr, e_type), 2);
  std::memcpy(&machine, bytes.data() + offsetof(Elf32_Ehdr, e_machine), 2);
  h.type = swap ? byteswap(type) : type;
  h.machine = swap ? byteswap(machine) : machine;
  return h;
}

ElfInfo read_elf(std::string_view bytes, const std::string& name) {
  auto h = peek_elf_header(bytes);
  if (!h) throw IntegrityError(name + ": not an ELF file, or its header is truncated");
  ElfInfo info;
  info.header = *h;
  Reader r{bytes, h->big_endian != (std::endian::native == std::endian::big), name};
  if (h->elf_class == ELFCLASS64)
    read_segments<ELFCLASS64>(r, info);
  else
    read_segments<ELFCLASS32>(r, info);
  return info;
}

ElfHeader host_elf() {
  ElfHeader h;
  h.elf_class = sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32;
  h.big_endian = std::endian::native == std::endian::big;
  h.type = ET_EXEC;
#if defined(__x86_64__)
  h.machine = EM_X86_64;
#elif defined(__aarch64__)
  h.machine = EM_AARCH64;
#elif defined(__i386__)
  h.machine = EM_386;
#elif defined(__powerpc64__)
  h.machine = EM_PPC64;
#elif defined(__riscv)
  h.machine = EM_RISCV;
#elif defined(__arm__)
  h.machine = EM_ARM;
#else
#error "host_elf(): add this architecture's EM_ value"
#endif
  return h;
}

ElfHeader debian_arch_elf(const std::string& arch) {
  ElfHeader h;
  h.elf_class = ELFCLASS64;
  h.type = ET_EXEC;
  if (arch == "amd64")
    h.machine = EM_X86_64;
  else if (arch == "arm64")
    h.machine = EM_AARCH64;
  else
    throw UsageError("no image host architecture '" + arch + "' (amd64 or arm64)");
  return h;
}

}  // namespace ksimg::layers
