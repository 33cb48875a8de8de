// Internal to src/layers: the per-kind builders behind build_toolchain_layer (toolchain.hpp)
// and the small pieces they share, declared here so unit tests can reach them.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "layers/build_context.hpp"
#include "matrix/data.hpp"
#include "oci/layout.hpp"
#include "recipes/spec.hpp"

namespace ksimg::layers::detail {

oci::LayerOptions layer_options(const BuildContext& ctx, int64_t epoch, const oci::Layout& layout,
                                const std::string& progress_label);

ToolchainLayer build_debian(const BuildContext& ctx, const matrix::Recipe& recipe,
                            const recipes::DebianSpec& spec, const recipes::LockedRecipe& locked,
                            int64_t epoch, const oci::Layout& layout);
ToolchainLayer build_tarball(const BuildContext& ctx, const matrix::Recipe& recipe,
                             const recipes::TarballSpec& spec, const recipes::LockedRecipe& locked,
                             int64_t epoch, const oci::Layout& layout);

// The links CROSS_COMPILE needs: for each "usr/bin/<triple>-<tool>-<N>" in `paths` (tool one
// of gcc, cpp, gcc-ar, gcc-nm, gcc-ranlib, gcov, gcov-dump, gcov-tool, lto-dump; N a
// version) whose unversioned name is not in `paths`, ("usr/bin/<triple>-<tool>",
// "<triple>-<tool>-<N>"). Sorted by link path; when several versions exist, the highest.
std::vector<std::pair<std::string, std::string>> cross_links(const std::vector<std::string>& paths,
                                                             const std::string& triple);

// A debian recipe with an install_dir keeps its binutils out of the base's. These are the
// moves its binutils-* package's members take, as layer paths without the leading '/':
// "usr/bin" -> "<install_dir>/bin" and "usr/lib/<triple>/ldscripts" -> "<install_dir>/lib/ldscripts".
// Empty without an install_dir. gcc-N does not move (its driver finds cc1 relative to itself);
// the CROSS_COMPILE links go to <install_dir>/bin with absolute targets.
std::vector<std::pair<std::string, std::string>> debian_moves(const std::string& install_dir,
                                                              const std::string& triple);
// `path` after the first of `moves` (as above) that covers it.
std::string apply_moves(const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& moves);
// What makes such a recipe's gcc run its own binutils rather than the base's `as`/`ld`,
// which a native gcc finds by their plain names: for each gcc private directory
// "usr/lib/gcc/<triple>/<N>" holding cc1 in `paths` (package paths, before the moves),
// ("<dir>/as", "/<install_dir>/bin/<triple>-as") and the same for ld, each only when
// "usr/bin/<triple>-as" (-ld) is in `paths`. gcc searches that directory before PATH.
std::vector<std::pair<std::string, std::string>> private_binutils_links(const std::vector<std::string>& paths,
                                                                        const std::string& triple,
                                                                        const std::string& install_dir);

// Runs the SDK's relocation script (`script`, relative to `staging`) so that it sees itself
// at `install_dir`: in a private mount namespace where `staging` is bind-mounted there.
// A missing script is skipped (debug log); a failing one is a RuntimeError.
void relocate_sdk(const std::filesystem::path& staging, const std::string& install_dir,
                  const std::string& script);

// Sets the modes (directories 0755, regular files 0644) and mtimes (`epoch`) of everything
// below `root`, files ksimg wrote itself, so the layer depends on neither umask nor clock.
void normalise_staging(const std::filesystem::path& root, int64_t epoch);
// The same for `dir` and each directory between it and `root` (not their contents).
void normalise_parents(const std::filesystem::path& root, const std::filesystem::path& dir, int64_t epoch);

}  // namespace ksimg::layers::detail
