// MergedTree (see tree.hpp; OCI image-spec layer.md, "Whiteouts" and "Applying
// Changesets"). Whiteouts hide only what lower layers put there, so their position inside
// the layer's tar does not matter. Hardlinks become copies of their target's node (same
// type and ELF header): for the checks here a hardlink is just another name of a file.
#include "layers/tree.hpp"

#include <algorithm>
#include <vector>

namespace ksimg::layers {

namespace {

constexpr std::string_view kWhiteout = ".wh.";
constexpr std::string_view kOpaque = ".wh..wh..opq";
constexpr size_t kMaxText = 1 << 20;

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = std::min(path.find('/', start), path.size());
    auto part = path.substr(start, slash - start);
    if (!part.empty() && part != ".") out.emplace_back(part);
    start = slash + 1;
  }
  return out;
}

std::string parent_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? "" : p.substr(0, slash);
}

std::string base_of(const std::string& p) {
  auto slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

}  // namespace

std::string MergedTree::normalise(std::string_view path) {
  std::string out;
  for (const auto& c : split(path)) out += (out.empty() ? "" : "/") + c;
  return out;
}

const Node* MergedTree::find(std::string_view path) const {
  auto it = nodes_.find(normalise(path));
  return it == nodes_.end() ? nullptr : &it->second;
}

void MergedTree::put(const std::string& path, Node n) {
  for (std::string dir = parent_of(path);; dir = parent_of(dir)) {
    auto it = nodes_.find(dir);
    if (it != nodes_.end() && it->second.type == 'd') break;
    Node d;
    d.type = 'd';
    d.layer = n.layer;
    d.implicit = true;
    nodes_[dir] = d;  // replaces a non-directory in the way, as unpacking would
    if (dir.empty()) break;
  }
  auto it = nodes_.find(path);
  if (n.type == 'd' && it != nodes_.end() && it->second.type == 'd') {
    it->second.layer = n.layer;  // a directory listed again keeps what is below it
    it->second.implicit = false;
    return;
  }
  if (it != nodes_.end() && it->second.type == 'd') hide(path, true);  // a non-dir replaces a dir
  nodes_[path] = std::move(n);
}

// Removes lower layers' nodes at `path` and below (contents_only: below only).
void MergedTree::hide(const std::string& path, bool contents_only) {
  size_t current = layers_;
  if (!contents_only) {
    auto it = nodes_.find(path);
    if (it != nodes_.end() && it->second.layer < current) nodes_.erase(it);
  }
  std::string prefix = path.empty() ? "" : path + "/";
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);) {
    if (it->first != path && it->second.layer < current)
      it = nodes_.erase(it);
    else
      ++it;
  }
}

void MergedTree::add_member(const oci::TarMember& m, oci::MemberData& data, const FileFn& on_file) {
  std::string path = normalise(m.path);
  std::string base = base_of(path);
  if (base == kOpaque) return hide(parent_of(path), true);
  if (base.starts_with(kWhiteout)) return hide(join(parent_of(path), base.substr(kWhiteout.size())), false);
  if (path.empty()) return;  // the root directory itself
  Node n;
  n.layer = layers_;
  n.type = m.type == 'h' ? 'f' : m.type;
  if (m.type == 'l') n.link = m.link;
  if (m.type == 'h') {
    if (const Node* target = find(m.link)) {
      n = *target;
      n.layer = layers_;
    }
  } else if (m.type == 'f') {
    std::string head = data.read(64);
    n.elf = peek_elf_header(head);
    if (keep_text && keep_text(path)) n.text = head + data.read(kMaxText);
    if (on_file) on_file(path, head, data);
  }
  put(path, std::move(n));
}

void MergedTree::apply_layer(const std::filesystem::path& blob, const FileFn& on_file) {
  oci::scan_tar(blob, [&](const oci::TarMember& m, oci::MemberData& data) { add_member(m, data, on_file); });
  ++layers_;
}

std::optional<std::string> MergedTree::resolve(std::string_view path) const {
  std::vector<std::string> todo = split(path);
  std::reverse(todo.begin(), todo.end());  // a stack: next component last
  std::string cur;
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.back());
    todo.pop_back();
    if (c == "..") {
      cur = parent_of(cur);
      continue;
    }
    std::string next = join(cur, c);
    auto it = nodes_.find(next);
    if (it == nodes_.end()) return std::nullopt;
    const Node& n = it->second;
    if (n.type == 'l') {
      if (++links > 40) return std::nullopt;  // ELOOP
      auto target = split(n.link);
      todo.insert(todo.end(), target.rbegin(), target.rend());
      if (!n.link.empty() && n.link[0] == '/') cur.clear();
      continue;
    }
    if (n.type != 'd' && !todo.empty()) return std::nullopt;  // ENOTDIR
    cur = next;
  }
  return cur;
}

std::map<std::string, const Node*> MergedTree::children(std::string_view dir) const {
  std::map<std::string, const Node*> out;
  std::string d = normalise(dir);
  std::string prefix = d.empty() ? "" : d + "/";
  for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix); ++it) {
    if (it->first.empty()) continue;
    std::string rest = it->first.substr(prefix.size());
    if (rest.find('/') == std::string::npos) out.emplace(rest, &it->second);
  }
  return out;
}

}  // namespace ksimg::layers
