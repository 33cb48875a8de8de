// The layer's entry model (detail/tree.hpp): path cleaning and hostile-path rejection
// (OCI image-spec layer.md; extraction-safety rules: no absolute names, no "..", nothing
// written through a symlink), and merge rules for entries from several sources.
#include "oci/detail/tree.hpp"

#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::oci::detail {

const char* type_name(EntryType t) {
  switch (t) {
    case EntryType::file:
      return "file";
    case EntryType::dir:
      return "directory";
    case EntryType::symlink:
      return "symlink";
    case EntryType::chr:
      return "character device";
    case EntryType::blk:
      return "block device";
    case EntryType::fifo:
      return "fifo";
  }
  return "entry";
}

static std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 300)) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

std::vector<std::string> clean_components(std::string_view raw, std::string_view origin) {
  if (raw.find('\0') != std::string_view::npos)
    throw IntegrityError(std::string(origin) + ": member name '" + shown(raw) + "' contains a NUL byte");
  if (!raw.empty() && raw.front() == '/')
    throw IntegrityError(std::string(origin) + ": member '" + shown(raw) +
                         "' has an absolute path; layers hold only relative names");
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= raw.size()) {
    size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view part = raw.substr(start, end - start);
    if (part == "..")
      throw IntegrityError(std::string(origin) + ": member '" + shown(raw) +
                           "' contains a '..' component; refusing a path that escapes the layer root");
    if (!part.empty() && part != ".") parts.emplace_back(part);
    start = end + 1;
  }
  return parts;
}

std::string join_components(const std::vector<std::string>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += '/';
    out += parts[i];
  }
  return out;
}

void Tree::check_parents(const std::string& path, std::string_view origin) const {
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    auto it = entries_.find(path.substr(0, slash));
    if (it != entries_.end() && it->second.type != EntryType::dir)
      throw IntegrityError(std::string(origin) + ": '" + path + "' lies under '" + it->first +
                           "', which is a " + type_name(it->second.type) +
                           " in this layer; a layer cannot place entries through a non-directory");
  }
}

bool Tree::has_members(const std::string& dir) const {
  auto it = entries_.lower_bound(dir + "/");
  return it != entries_.end() && it->first.compare(0, dir.size() + 1, dir + "/") == 0;
}

void Tree::put(const std::string& path, Entry e, std::string_view origin) {
  if (path.empty()) throw IntegrityError(std::string(origin) + ": empty member name");
  check_parents(path, origin);
  auto it = entries_.find(path);
  if (it == entries_.end()) {
    entries_.emplace(path, std::move(e));
    return;
  }
  if (it->second.type == EntryType::dir && e.type != EntryType::dir && has_members(path))
    throw UsageError(std::string(origin) + ": '" + path + "' is a " + type_name(e.type) +
                     " here but a non-empty directory in an earlier source of this layer; "
                     "remove one of them or put them in separate layers");
  log::debug(std::string(origin) + ": '" + path + "' replaces an earlier entry");
  it->second = std::move(e);
}

void Tree::put_hardlink(const std::string& link, const std::string& target, std::string_view origin) {
  auto it = entries_.find(target);
  if (it == entries_.end())
    throw IntegrityError(std::string(origin) + ": hardlink '" + link + "' points to '" + target +
                         "', which is not in the layer (a hardlink must follow its target)");
  if (it->second.type == EntryType::dir)
    throw IntegrityError(std::string(origin) + ": hardlink '" + link + "' points to the directory '" +
                         target + "'");
  if (link == target) return;
  if (it->second.link_group == 0) it->second.link_group = new_link_group();
  Entry copy = it->second;
  put(link, std::move(copy), origin);
}

}  // namespace ksimg::oci::detail
