// OUT/reproduce.sh (see reproduce.hpp; documented in docs/kbuild.md). Written inside the image
// rather than by `ksimg kbuild` on the host so that every way of running kbuild gets one, and
// from the same facts metadata.json records; the host passes the image digest in.
#include "kbuild/reproduce.hpp"

#include "kbuild/build.hpp"
#include "kbuild/plan.hpp"
#include "util/files.hpp"

namespace ksimg::kbuild {

std::string pinned_image(const std::string& ref, const std::string& digest) {
  if (digest.empty() || ref.find('@') != std::string::npos) return ref;
  auto slash = ref.rfind('/');
  auto colon = ref.rfind(':');
  std::string repo = colon != std::string::npos && (slash == std::string::npos || colon > slash)
                         ? ref.substr(0, colon)
                         : ref;
  return repo + "@" + digest;
}

namespace {

// The lines that choose the kernel source: by sha256 from the mirror, or $KSIMG_SOURCE checked
// against it; a tree cannot be pinned, so it must be given again.
std::string source_lines(const ReproFacts& f) {
  if (!f.source_sha256)
    return "if [ -z \"${KSIMG_SOURCE:-}\" ]; then\n"
           "  echo \"reproduce.sh: this build used the kernel tree " +
           shell_quote(f.source_origin) +
           ", which has no sha256; set KSIMG_SOURCE to that tree\" >&2\n"
           "  exit 2\n"
           "fi\n"
           "set -- --source \"$KSIMG_SOURCE\" \"$@\"\n";
  return "sha256=" + *f.source_sha256 +
         "\n"
         "if [ -n \"${KSIMG_SOURCE:-}\" ]; then\n"
         "  echo \"$sha256  $KSIMG_SOURCE\" | sha256sum -c --quiet - >/dev/null 2>&1 || {\n"
         "    echo \"reproduce.sh: $KSIMG_SOURCE is not the source of this build (sha256 $sha256)\" >&2\n"
         "    exit 3\n"
         "  }\n"
         "  set -- --source \"$KSIMG_SOURCE\" \"$@\"\n"
         "else\n"
         "  set -- --sha256 \"$sha256\" \"$@\"  # downloaded from KSIMG_KERNEL_MIRROR (default kernel.org)\n"
         "fi\n";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

std::string reproduce_script(const ReproFacts& f) {
  std::string image = pinned_image(f.image_ref.empty() ? "kernelsmith" : f.image_ref, f.image_digest);
  std::string def = "reproduce-" + f.version + "-" + f.arch;
  std::string s =
      "#!/bin/sh\n"
      "# Rebuilds this kbuild output (Linux " +
      f.version + ", " + f.arch + "): the same image" +
      (f.image_digest.empty() ? " (NOT pinned: the host named no digest)" : " by digest") +
      ", the same kernel source" + (f.source_sha256 ? " by sha256" : "") +
      ", this directory's .config, the same targets.\n"
      "#   sh reproduce.sh [OUT_DIR [KSIMG_KBUILD_FLAGS...]]   (default OUT_DIR: ./" +
      def +
      ")\n"
      "# Needs ksimg (or $KSIMG) and podman. KSIMG_SOURCE=FILE uses a local tarball instead of the mirror.\n"
      "# Written by kbuild; vmlinux comes out byte-identical (hermetic KBUILD_BUILD_*, reproducible "
      "images).\n"
      "set -eu\n"
      "here=$(cd \"$(dirname \"$0\")\" && pwd)\n"
      "out=${1:-$PWD/" +
      def +
      "}\n"
      "[ $# -gt 0 ] && shift\n"
      "mkdir -p \"$out\"\n"
      "out=$(cd \"$out\" && pwd)\n"
      "if [ \"$out\" = \"$here\" ]; then\n"
      "  echo \"reproduce.sh: $out holds the build to reproduce; give another output dir\" >&2\n"
      "  exit 2\n"
      "fi\n"
      "cp \"$here/.config\" \"$out/reproduce.config\"\n"
      "set -- --image " +
      shell_quote(image) + " --config \"$out/reproduce.config\" --targets " +
      shell_quote(join(f.targets, ",")) + " -o \"$out\" \"$@\"\n";
  s += source_lines(f);
  s += "exec \"${KSIMG:-ksimg}\" kbuild " + shell_quote(f.version) + " --arch " + shell_quote(f.arch) +
       " \"$@\"\n";
  return s;
}

void write_reproducer(BuildContext& c) {
  const auto& img = c.meta.doc()["image"];
  auto str = [](const nlohmann::ordered_json& j) {
    return j.is_string() ? j.get<std::string>() : std::string();
  };
  ReproFacts f{c.plan.version.str(), c.plan.arch,     str(img["ref"]), str(img["digest"]),
               c.source.kind,        c.source.origin, c.source.sha256, c.plan.targets};
  files::write_atomic(c.plan.out / "reproduce.sh", reproduce_script(f), 0755);
  c.meta.doc()["reproduce"] = "reproduce.sh";
  c.meta.save();
}

}  // namespace ksimg::kbuild
