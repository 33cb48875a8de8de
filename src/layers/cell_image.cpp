// Cell image config (see cell_image.hpp). Labels repeat as manifest annotations so that
// registries (Harbor) show them without fetching the config.
#include "layers/cell_image.hpp"

#include "matrix/resolver.hpp"

namespace ksimg::layers {

oci::ImageSpec cell_image_spec(const CellImageFacts& f) {
  const auto& arch = f.matrix->arches.at(f.cell->arch);
  oci::ImageSpec s;
  s.platform = oci::Platform{"linux", f.host_arch, ""};
  std::string path;
  for (const auto& d : f.path_dirs) path += d + ":";
  path += "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  s.env = {"PATH=" + path,
           "ARCH=" + arch.kernel_arch,
           "CROSS_COMPILE=" + f.cross_compile,
           "KSIMG_ERA=" + f.cell->era,
           "KSIMG_ARCH=" + f.cell->arch,
           "KSIMG_RECIPE=" + f.recipe->name,
           "SOURCE_DATE_EPOCH=" + std::to_string(f.source_date_epoch)};
  s.cmd = {"kbuild", "--help"};
  s.created = f.source_date_epoch;
  s.labels = {
      {"org.opencontainers.image.title", "kernelsmith:" + f.image_tag},
      {"org.opencontainers.image.description", "Linux kernel build toolchain for cell " + f.cell->key() +
                                                   " (" + f.recipe->source() + " gcc " + f.recipe->gcc + ")"},
      {"org.kernelsmith.cell", f.cell->key()},
      {"org.kernelsmith.era", f.cell->era},
      {"org.kernelsmith.arch", f.cell->arch},
      {"org.kernelsmith.kernel-arch", arch.kernel_arch},
      {"org.kernelsmith.cross-compile", f.cross_compile},
      {"org.kernelsmith.recipe", f.recipe->name},
      {"org.kernelsmith.toolchain-source", f.recipe->source()},
      {"org.kernelsmith.gcc-version", f.gcc_version.empty() ? f.recipe->gcc : f.gcc_version},
      {"org.kernelsmith.binutils-version",
       f.binutils_version.empty() ? f.recipe->binutils.value_or("unknown") : f.binutils_version},
      {"org.kernelsmith.kernels", matrix::cell_kernel_range(*f.matrix, *f.cell, *f.recipe)}};
  if (!f.inputs_sha256.empty()) s.labels[kInputsLabel] = f.inputs_sha256;
  s.annotations = s.labels;
  s.version = f.image_tag;
  s.revision = f.revision;
  for (const char* what : {"base", "toolchain", "launcher"})
    s.created_by.push_back(std::string("ksimg ") + what + " layer");
  return s;
}

}  // namespace ksimg::layers
