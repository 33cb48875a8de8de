// The smoke check of a cell image: inside the image, with podman,
// `${CROSS_COMPILE}gcc -dumpmachine`, compile and link a small freestanding program, and
// check with readelf and file that its machine, endianness, width and ABI are the cell's
// (mips64 must be n64, not n32; powerpc64 must carry the ABI its recipe promises).
#pragma once
#include <string>
#include <vector>

#include "matrix/data.hpp"

namespace ksimg::run {

struct SmokeResult {
  std::string dumpmachine;                            // gcc -dumpmachine
  std::string elf_class, data, machine, flags, file;  // from readelf -h and file(1)
  std::vector<std::string> problems;                  // empty = passed
  std::string log;                                    // everything the check printed
  bool ok() const { return problems.empty(); }
};

// The shell script the check runs in the image.
std::string smoke_script(const matrix::Arch& arch);

// Judges the script's output against the cell's facts.
SmokeResult judge_smoke(const std::string& output, const matrix::Arch& arch, const matrix::Recipe& recipe);

// Runs the check in `image` (a podman image name).
// `platform`: the image's platform when it is not this machine's ("linux/arm64"), else "".
SmokeResult smoke_check(const std::string& image, const matrix::Arch& arch, const matrix::Recipe& recipe,
                        const std::string& platform = "");

}  // namespace ksimg::run
