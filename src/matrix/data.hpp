// The project's data (matrix/*.json, recipes/*.json) as typed, validated structures.
// Schemas: matrix/README.md and recipes/README.md. Loading rejects unknown keys, duplicate
// keys, missing arches or cells, and references to recipes or cells that do not exist.
#pragma once
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "matrix/version.hpp"

namespace ksimg::matrix {

struct Era {
  std::string name;              // "k2.6", "k3", "k4", "k6"
  Version from;                  // first version in the band
  std::optional<Version> below;  // first version past the band (none for the last)
  std::string note;
};

// A boot-config symbol that only some kernels of the era have (Kconfig renamed it): enabled
// when the kernel is in [from, below).
struct VersionedSymbol {
  std::string symbol;
  std::optional<Version> from, below;
  bool applies(const Version& v) const { return !(from && v.before(*from)) && !(below && !v.before(*below)); }
};

struct BootSettings {
  std::string qemu, machine, memory, console;
  std::optional<std::string> cpu, dtb, defconfig, note;
  std::vector<std::string> enable, disable;        // config fragments on top of defconfig
  std::vector<VersionedSymbol> enable_by_version;  // enabled only for kernels in their range
  bool build_only = false;                         // builds, but qemu cannot boot it
  bool verified = true;                            // boot-tested by kernelsmith
};

struct BootImage {
  std::optional<std::string> target;  // extra make target (zImage, Image.gz, bzImage)
  std::string file;                   // file to ship, relative to the build dir
};

struct Arch {
  std::string name;         // matrix key: "mipsel"
  std::string kernel_arch;  // ARCH=: "mips"
  int bits = 0;
  std::string endian;                          // "little" | "big"
  std::string elf_machine;                     // readelf -h "Machine:" of its objects
  std::map<std::string, std::string> triples;  // source kind -> triple
  std::optional<std::string> bootlin_dir;
  BootImage boot_image;
  std::map<std::string, std::optional<std::string>> defconfig;  // era -> defconfig
  std::map<std::string, BootSettings> boot;                     // era -> settings
  std::optional<Version> kernel_since;                          // first kernel with this arch
  std::string kernel_since_reason;
  std::optional<std::string> no_kernel;  // set when no kernel exists for this arch at all
};

// A second userland ABI a recipe's image compiles for besides the cell's own: the 32-bit ABI
// its 64-bit kernels run through their compat layer (x86_64 cells: i386 with i686-linux-gnu-gcc).
struct CompatUserland {
  std::string abi, triple, libc;  // "i386", "i686-linux-gnu", "glibc 2.41 (libc6-dev-i386-cross ...)"
};

struct Recipe {
  std::string name, kind, arch, gcc, libc, triple;  // kind: debian | tarball | script
  std::optional<std::string> binutils;              // unknown for most Bootlin SDKs
  std::optional<std::string> abi;                   // powerpc64: elfv1 | elfv2
  std::optional<std::string> note;
  std::vector<CompatUserland> compat;
  const CompatUserland* find_compat(const std::string& abi) const;
  // Why the toolchain has no arm64-hosted build ("" when it has one: a debian recipe whose
  // hosts.arm64 names the arm64 packages). Every recipe runs on amd64 hosts.
  std::string no_arm64 = {};
  // The C library of the arm64-hosted image when it differs from `libc` (which describes the
  // amd64 one): the x86_64 and arm64 recipes switch between native and cross there.
  std::optional<std::string> libc_arm64 = {};
  const std::string& libc_on(const std::string& host_arch) const;
  std::string source() const;  // user-facing source name: debian | bootlin | script
  // The host platforms' architectures it runs on: {"amd64"} or {"amd64", "arm64"}.
  std::vector<std::string> host_arches() const;
};

struct Cell {
  std::string era, arch;
  std::optional<std::string> recipe;           // default recipe; none when unsupported
  std::map<std::string, std::string> sources;  // source name -> recipe
  std::optional<std::string> unsupported;      // reason
  std::optional<std::string> note;
  std::string key() const { return era + "/" + arch; }
  std::string tag() const { return era + "-" + arch; }
};

struct Requirement {
  std::optional<std::string> binutils_below;
  std::optional<std::string> abi;
};

struct Exception {
  std::string id, arch, use_cell, reason, evidence;
  Version from, below;
  Requirement require;
};

struct Matrix {
  std::vector<Era> eras;  // in band order
  std::map<std::string, Arch> arches;
  std::vector<std::string> arch_order;    // as listed in arches.json
  std::map<std::string, Cell> cells;      // "k3/mipsel" -> cell
  std::map<std::string, Recipe> recipes;  // name -> recipe
  std::vector<Exception> exceptions;
  std::string boot_success_regex;
  int boot_timeout_seconds = 240;

  const Cell& cell(const std::string& era, const std::string& arch) const;
  const Recipe& recipe(const std::string& name) const;
};

// Data files by path relative to the project root ("matrix/cells.json" -> text).
using DataFiles = std::map<std::string, std::string>;

// Parses and validates; throws DataError naming the file, the key and the fix.
Matrix load(const DataFiles& files);
// The copy compiled into the binary.
const Matrix& builtin();
// Reads matrix/*.json, recipes/*.json, layers/*.json and userland/*.c under `root`.
DataFiles read_data_dir(const std::filesystem::path& root);
// The builtin data, or the data under `root` when non-empty (cached per process).
const Matrix& get(const std::string& root);
// The raw files behind get(root), for modules that read kind-specific recipe keys.
DataFiles data_files(const std::string& root);

}  // namespace ksimg::matrix
