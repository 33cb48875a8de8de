// kbuild: the program inside every kernelsmith cell image. This version reports the image's
// cell and toolchain (`kbuild info`) and checks that a kernel version belongs to it
// (`kbuild check VERSION`); building kernels arrives with the kbuild issue.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "kbuild/cell.hpp"
#include "matrix/data.hpp"
#include "util/error.hpp"

using namespace ksimg;

namespace {

void info(bool json) {
  const auto& m = matrix::builtin();
  auto id = kbuild::identify(m, kbuild::process_env());
  const auto& a = m.arches.at(id.cell->arch);
  const auto& r = *id.recipe;
  if (json) {
    std::cout << nlohmann::ordered_json{{"cell", id.cell->key()},
                                        {"image_tag", id.image_tag},
                                        {"arch", a.name},
                                        {"kernel_arch", a.kernel_arch},
                                        {"recipe", r.name},
                                        {"source", r.source()},
                                        {"gcc", r.gcc},
                                        {"binutils",
                                         r.binutils ? nlohmann::ordered_json(*r.binutils) : nullptr},
                                        {"cross_compile", r.triple + "-"},
                                        {"kernels", kbuild::supported_range(m, id)}}
                     .dump(2)
              << "\n";
    return;
  }
  std::cout << "cell       " << id.cell->key() << "  (image kernelsmith:" << id.image_tag << ")\n"
            << "toolchain  " << r.source() << " " << r.name << ": gcc " << r.gcc << ", binutils "
            << r.binutils.value_or("(not recorded)") << ", " << r.libc << "\n"
            << "make       ARCH=" << a.kernel_arch << " CROSS_COMPILE=" << r.triple << "-\n"
            << "kernels    " << kbuild::supported_range(m, id) << "\n";
}

void check(const std::string& version) {
  const auto& m = matrix::builtin();
  auto id = kbuild::identify(m, kbuild::process_env());
  auto v = matrix::parse_version(version);
  if (auto other = kbuild::other_image_for(m, id, v))
    throw UsageError("kernel " + v.str() + " is not built by this image (kernelsmith:" + id.image_tag +
                     "); use kernelsmith:" + *other + " (ksimg resolve " + v.str() + " --arch " +
                     id.cell->arch + " says why)");
  std::cout << "kernel " << v.str() << " belongs to cell " << id.cell->key()
            << " (kernelsmith:" << id.image_tag << ")\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kbuild: builds Linux kernels with this kernelsmith cell image's toolchain", "kbuild"};
  app.set_version_flag("--version", "kbuild (ksimg 0.1.0)");
  app.require_subcommand(1);
  bool json = false;
  std::string version;
  auto* i = app.add_subcommand("info", "Print this image's cell, toolchain and the kernels it builds");
  i->add_flag("--json", json, "Print JSON");
  i->callback([&] { info(json); });
  auto* c = app.add_subcommand("check", "Check that a kernel version is built by this image (exit 2 if not)");
  c->add_option("VERSION", version, "Kernel version, e.g. 5.10.223")->required();
  c->callback([&] { check(version); });
  app.footer(
      "Examples (inside the image):\n"
      "  podman run kernelsmith:k4-mipsel kbuild info\n"
      "  podman run kernelsmith:k4-mipsel kbuild check 5.10.223\n"
      "Exit codes: 0 ok, 1 failure, 2 usage error or wrong image, 4 invalid data.");
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Error& e) {
    std::cerr << "kbuild: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "kbuild: internal error: " << e.what() << "\n";
    return 1;
  }
}
