// The toolchain closure check: every ELF file of the toolchain layer that runs on
// the build host must find its program interpreter and every DT_NEEDED library inside the
// layers below plus the toolchain layer itself, as the dynamic loader would search for it
// (ld.so(8)): DT_RPATH (when there is no DT_RUNPATH), DT_RUNPATH, the directories of
// /etc/ld.so.conf and /etc/ld.so.conf.d/*.conf, then the default directories; $ORIGIN,
// $LIB and $PLATFORM expanded; a candidate counts only when it is an ELF file of the host's
// class and machine (as the loader skips others).
//
// Failure is a RuntimeError (exit 1): the build step produced an image whose compiler
// cannot run; the fix is a package in the recipe or in layers/base.json, not a download.
#pragma once
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "layers/elf.hpp"

namespace ksimg::layers {

struct ClosureOptions {
  ElfHeader host = host_elf();
  // In-image directories ("/opt/tc/x86_64-buildroot-linux-musl/sysroot") whose files are
  // built for the target, not the host: skipped even when their machine matches the host's.
  std::vector<std::string> target_roots;
  size_t max_listed = 5;  // binaries named per missing library before "and N more"
};

struct MissingLibrary {
  std::string library;                 // a DT_NEEDED name, or an interpreter path
  std::vector<std::string> needed_by;  // "/usr/bin/x", in layer order
};

struct ClosureReport {
  size_t binaries = 0;   // host ELF files checked (executables and shared libraries)
  size_t libraries = 0;  // DT_NEEDED and interpreter references resolved
  std::vector<MissingLibrary> missing;
  bool ok() const { return missing.empty(); }
  // "libfoo.so.1 (needed by /usr/bin/a, /usr/bin/b and 3 more); ..."
  std::string describe(size_t max_listed = 5) const;
};

// The loader's default directories for this host ("/lib/x86_64-linux-gnu", ...).
std::vector<std::string> default_library_dirs(const ElfHeader& host);

// Applies `lower` (bottom first) and then `layer`, and checks `layer`'s host ELF files.
ClosureReport check_closure(const std::vector<std::filesystem::path>& lower,
                            const std::filesystem::path& layer, const ClosureOptions& opts = {});

// Throws RuntimeError naming every missing library and the binaries that need it.
void require_closure(const ClosureReport& report, const ClosureOptions& opts = {});

}  // namespace ksimg::layers
