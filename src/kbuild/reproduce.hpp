// OUT/reproduce.sh: the command that rebuilds a kbuild output, written by the in-image kbuild
// after a successful build from what it knows for certain: the image the host ran it in (by
// digest, KSIMG_IMAGE_REF/KSIMG_IMAGE_DIGEST), the kernel source (by sha256), the final .config
// (OUT/.config, given back as --config) and the targets. It runs `ksimg kbuild` on the host
// into another directory; any extra arguments go to ksimg (e.g. --ccache-dir).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace ksimg::kbuild {

struct ReproFacts {
  std::string version, arch;
  std::string image_ref, image_digest;  // as the host named the image ("" when unknown)
  std::string source_kind, source_origin;
  std::optional<std::string> source_sha256;
  std::vector<std::string> targets;
};

// The image argument: "REPO@sha256:..." (the ref's tag replaced by the digest), the ref itself
// when it already holds a digest or no digest is known.
std::string pinned_image(const std::string& ref, const std::string& digest);

// The POSIX sh script (see the file comment).
std::string reproduce_script(const ReproFacts& f);

struct BuildContext;
// Writes OUT/reproduce.sh (mode 0755) from the build's facts and names it in metadata.json
// ("reproduce"). Called once the artifacts are collected.
void write_reproducer(BuildContext& c);

}  // namespace ksimg::kbuild
