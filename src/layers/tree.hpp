// The merged view of an image's layers as the runtime would see it (OCI image-spec
// layer.md "Applying Changesets"): layers applied bottom-up, a ".wh.<name>" hiding <name>
// and ".wh..wh..opq" hiding a directory's contents from the layers below, later entries
// replacing earlier ones. Keeps types, link targets and ELF headers, never file data;
// resolves paths through symlinks the way the kernel does.
#pragma once
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "layers/elf.hpp"
#include "oci/tar_scan.hpp"

namespace ksimg::layers {

struct Node {
  char type = 'f';                  // f file, d directory, l symlink, c/b/p special
  std::string link;                 // symlink target, as stored
  size_t layer = 0;                 // which layer put it here
  bool implicit = false;            // a directory no layer listed, implied by a member below it
  std::optional<ElfHeader> elf;     // regular files that start with the ELF magic
  std::optional<std::string> text;  // content, for the files MergedTree::keep_text selects
};

class MergedTree {
 public:
  // Called for each regular file of the layer being applied, with its normalised path,
  // its first bytes (up to 64) and the rest of its data.
  using FileFn = std::function<void(const std::string& path, const std::string& head, oci::MemberData& rest)>;

  // Regular files whose content (up to 1 MiB) is kept in Node::text, e.g. ld.so.conf.
  std::function<bool(const std::string& path)> keep_text;

  // Applies one layer blob (any compression) on top of what is there.
  void apply_layer(const std::filesystem::path& blob, const FileFn& on_file = {});
  size_t layers() const { return layers_; }

  // The node at exactly `path` ("usr/lib/x" or "/usr/lib/x"), symlinks not followed.
  const Node* find(std::string_view path) const;
  // The symlink-free path `path` names (every symlink on the way followed, at most 40),
  // without a leading '/', or nullopt when some component does not exist.
  std::optional<std::string> resolve(std::string_view path) const;
  // Every node directly inside directory `dir` (no symlinks followed), by name.
  std::map<std::string, const Node*> children(std::string_view dir) const;

  // "usr/lib/x" for "/usr/lib/x", "./usr/lib/x/", "usr//lib/x".
  static std::string normalise(std::string_view path);

 private:
  void put(const std::string& path, Node n);
  void hide(const std::string& path, bool contents_only);
  void add_member(const oci::TarMember& m, oci::MemberData& data, const FileFn& on_file);

  std::map<std::string, Node> nodes_;  // by normalised path; "" is the root
  size_t layers_ = 0;
};

}  // namespace ksimg::layers
