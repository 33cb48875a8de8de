// Test helpers for the layers unit tests: compiling tiny host ELF programs with the host's
// C compiler, fake ELF headers for libraries the closure check only needs to see, and
// writing a directory (or a hand-built set of entries) as a layer blob of a scratch layout.
#pragma once
#include <doctest/doctest.h>
#include <elf.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "layers/elf.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"
#include "util/subprocess.hpp"

namespace layers_test {

namespace fs = std::filesystem;

inline void write_file(const fs::path& p, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  ::chmod(p.c_str(), mode);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void symlink(const std::string& target, const fs::path& link) {
  fs::create_directories(link.parent_path());
  fs::create_symlink(target, link);
}

// Compiles C `source` with the host compiler: cc <args> -o out. Fails the test on error.
inline void compile(const std::string& source, const std::vector<std::string>& args, const fs::path& out) {
  auto cc = ksimg::subprocess::find_program("cc");
  std::string need = "the host C compiler (cc) is needed to build ELF fixtures";
  REQUIRE_MESSAGE(cc.has_value(), need);
  fs::create_directories(out.parent_path());
  std::vector<std::string> argv{cc->string(), "-x", "c", "-", "-x", "none", "-o", out.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  ksimg::subprocess::Options o;
  o.input = source;
  auto r = ksimg::subprocess::run(argv, o);
  std::string why = "cc failed: " + r.err;
  REQUIRE_MESSAGE(r.ok(), why);
}

// A 64-byte (ELF64) or 52-byte (ELF32) header: enough for the closure check's candidate test.
inline std::string fake_elf(uint16_t machine, int elf_class = ELFCLASS64, bool big_endian = false,
                            uint16_t type = ET_DYN) {
  std::string h(elf_class == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr), '\0');
  std::memcpy(h.data(), ELFMAG, SELFMAG);
  h[EI_CLASS] = static_cast<char>(elf_class);
  h[EI_DATA] = static_cast<char>(big_endian ? ELFDATA2MSB : ELFDATA2LSB);
  h[EI_VERSION] = EV_CURRENT;
  auto put16 = [&](size_t off, uint16_t v) {
    h[off] = static_cast<char>(big_endian ? v >> 8 : v & 0xff);
    h[off + 1] = static_cast<char>(big_endian ? v & 0xff : v >> 8);
  };
  put16(offsetof(Elf32_Ehdr, e_type), type);
  put16(offsetof(Elf32_Ehdr, e_machine), machine);
  return h;
}

inline std::string host_lib() {
  return fake_elf(ksimg::layers::host_elf().machine);
}

// Writes `dir` (when it exists) plus whiteouts as a layer blob of `layout`; returns its path.
inline fs::path layer_blob(const ksimg::oci::Layout& layout, const fs::path& dir,
                           const std::vector<std::string>& whiteouts = {},
                           const std::vector<std::string>& opaque = {}) {
  ksimg::oci::LayerWriter w;
  if (fs::exists(dir)) w.add_directory(dir);
  for (const auto& p : whiteouts) w.add_whiteout(p);
  for (const auto& d : opaque) w.add_opaque_whiteout(d);
  return layout.blob_path(w.write(layout).descriptor.digest);
}

}  // namespace layers_test
