// OCI image layout (see layout.hpp), following image-spec image-layout.md: the
// {"imageLayoutVersion":"1.0.0"} marker, index.json as an image index whose descriptors carry
// org.opencontainers.image.ref.name, blobs at blobs/<alg>/<encoded> whose bytes MUST match.
#include "oci/layout.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::oci {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLockName = "index.json.lock";
constexpr const char* kTmpName = ".ksimg-tmp";
const std::string kLayoutMarker = R"({"imageLayoutVersion":"1.0.0"})";

nlohmann::json empty_index() {
  return {
      {"schemaVersion", 2}, {"mediaType", std::string(media::index)}, {"manifests", nlohmann::json::array()}};
}

// Files ksimg itself may have created in a layout that another process is initialising,
// including the temp files of its atomic writes ("index.json.tmp-<pid>-<random>").
// Returns the first other file's name, or "" when there is none.
std::string foreign_file(const fs::path& root) {
  for (const auto& e : fs::directory_iterator(root)) {
    auto name = e.path().filename().string();
    bool ours = name == kLockName || name == kTmpName || name == "blobs" ||
                name.rfind("index.json", 0) == 0 || name.rfind("oci-layout", 0) == 0;
    if (!ours) return name;
  }
  return "";
}

void require_layout_or_empty(const fs::path& root) {
  if (!fs::exists(root) || fs::exists(root / "oci-layout")) return;
  if (!fs::is_directory(root))
    throw UsageError("--layout " + root.string() + " exists and is not a directory");
  if (auto other = foreign_file(root); !other.empty())
    throw UsageError(root.string() + " holds other files ('" + other +
                     "') but no oci-layout, so it is not an OCI layout; choose a new or empty directory");
}

std::string ref_name(const Descriptor& d) {
  auto it = d.annotations.find(std::string(annotation::ref_name));
  return it == d.annotations.end() ? std::string() : it->second;
}

std::string name_of(const nlohmann::json& m) {
  if (!m.is_object()) return {};
  auto a = m.find("annotations");
  if (a == m.end() || !a->is_object()) return {};
  auto n = a->find(std::string(annotation::ref_name));
  return n != a->end() && n->is_string() ? n->get<std::string>() : std::string();
}

// Removes the temp files of writers that died (kill -9, power loss) from `dir`: a live
// writer holds an flock on its temp file from creation to rename (files::AtomicFile), so a
// file nobody has locked is garbage. The age check only covers the instant between a
// writer's open() and its flock(). Returns how many were removed.
size_t remove_stale_temps(const fs::path& dir) {
  size_t removed = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::error_code ec2;
    if (e.path().filename().string().find(".tmp-") == std::string::npos || !e.is_regular_file(ec2)) continue;
    auto mtime = e.last_write_time(ec2);
    if (ec2 || now - mtime < std::chrono::seconds(5)) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::unlink(e.path().c_str()) == 0) ++removed;
    ::close(fd);
  }
  return removed;
}

}  // namespace

void validate_tag(std::string_view tag) {
  auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  bool ok = !tag.empty() && tag.size() <= 128 && word(tag[0]) &&
            std::all_of(tag.begin(), tag.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
  if (!ok)
    throw UsageError("invalid tag '" + std::string(tag.substr(0, 200)) +
                     "': use 1-128 characters from [a-zA-Z0-9_.-], not starting with '.' or '-'");
}

Layout Layout::create(const fs::path& root) {
  require_layout_or_empty(root);
  fs::create_directories(root / "blobs" / "sha256");
  fs::create_directories(root / kTmpName);
  files::FileLock lock(root / kLockName);
  require_layout_or_empty(root);
  if (!fs::exists(root / "oci-layout")) files::write_atomic(root / "oci-layout", kLayoutMarker);
  if (!fs::exists(root / "index.json"))
    files::write_atomic(root / "index.json", canonical_json(empty_index()));
  if (size_t n = remove_stale_temps(root / kTmpName) + remove_stale_temps(root))
    log::debug("removed " + std::to_string(n) + " temp file(s) of killed writers from " + root.string());
  return open(root);
}

Layout Layout::open(const fs::path& root) {
  auto marker = files::read_if_exists(root / "oci-layout");
  if (!marker) throw UsageError(root.string() + " is not an OCI image layout (no oci-layout file)");
  nlohmann::json j = nlohmann::json::parse(*marker, nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("imageLayoutVersion", "") != "1.0.0")
    throw IntegrityError(root.string() + "/oci-layout is not {\"imageLayoutVersion\":\"1.0.0\"}");
  if (!fs::exists(root / "index.json"))
    throw IntegrityError(root.string() + " is an OCI layout without index.json");
  Layout l(root);
  return l;
}

fs::path Layout::blob_path(const Digest& d) const {
  return root_ / "blobs" / "sha256" / d.hex();
}

bool Layout::has_blob(const Digest& d, int64_t size) const {
  fs::path p = blob_path(d);
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    throw RuntimeError(errno_text("cannot stat", p.string()));
  }
  const std::string fix = "; the layout is corrupt: delete " + p.string() + " and build again";
  if (st.st_size != size)
    throw IntegrityError("blob " + d.str() + " in the layout has " + std::to_string(st.st_size) +
                         " bytes, expected " + std::to_string(size) + fix);
  if (verify_existing && sha256_file(p) != d)
    throw IntegrityError("blob " + d.str() + " in the layout does not match its digest" + fix);
  return true;
}

fs::path Layout::temp_dir() const {
  return root_ / kTmpName;
}

std::unique_ptr<files::AtomicFile> Layout::begin_blob() const {
  fs::create_directories(temp_dir());
  return std::make_unique<files::AtomicFile>(temp_dir() / "blob");
}

void Layout::commit_blob(files::AtomicFile& tmp, const Digest& d, int64_t size) const {
  if (has_blob(d, size)) {
    tmp.discard();
    return;
  }
  tmp.commit_to(blob_path(d));
}

Descriptor Layout::put_blob(std::string_view bytes, std::string_view media_type) const {
  Descriptor desc{
      std::string(media_type), sha256(bytes), static_cast<int64_t>(bytes.size()), {}, std::nullopt};
  if (has_blob(desc.digest, desc.size)) return desc;
  auto tmp = begin_blob();
  tmp->write(bytes);
  commit_blob(*tmp, desc.digest, desc.size);
  return desc;
}

std::string Layout::read_blob(const Descriptor& d, size_t max_size) const {
  if (d.size < 0 || static_cast<size_t>(d.size) > max_size)
    throw IntegrityError("blob " + d.digest.str() + " claims " + std::to_string(d.size) +
                         " bytes, more than the " + std::to_string(max_size) + " allowed for " +
                         d.media_type);
  auto bytes = files::read_if_exists(blob_path(d.digest));
  if (!bytes) throw IntegrityError("blob " + d.digest.str() + " is missing from " + root_.string());
  if (bytes->size() != static_cast<size_t>(d.size) || sha256(*bytes) != d.digest)
    throw IntegrityError("blob " + d.digest.str() + " in " + root_.string() +
                         " does not match its descriptor");
  return *bytes;
}

nlohmann::json Layout::read_index() const {
  std::string text = files::read(root_ / "index.json");
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
    throw IntegrityError(root_.string() + "/index.json is not a valid image index");
  return j;
}

std::vector<Descriptor> Layout::manifests() const {
  std::vector<Descriptor> out;
  const nlohmann::json index = read_index();
  for (const auto& m : index["manifests"]) out.push_back(Descriptor::from_json(m));
  return out;
}

std::vector<std::string> Layout::tags() const {
  std::vector<std::string> out;
  for (const auto& d : manifests())
    if (auto n = ref_name(d); !n.empty()) out.push_back(n);
  return out;
}

std::optional<Descriptor> Layout::find_tag(std::string_view tag) const {
  for (auto& d : manifests())
    if (ref_name(d) == tag) return d;
  return std::nullopt;
}

void Layout::set_tag(std::string_view tag, Descriptor manifest) const {
  validate_tag(tag);
  manifest.annotations[std::string(annotation::ref_name)] = std::string(tag);
  files::FileLock lock(root_ / kLockName);
  nlohmann::json index = read_index();
  std::vector<nlohmann::json> keep;  // other entries stay byte-for-byte what they were
  for (const auto& m : index["manifests"])
    if (name_of(m) != tag) keep.push_back(m);
  keep.push_back(manifest.to_json());
  std::stable_sort(keep.begin(), keep.end(),
                   [](const auto& a, const auto& b) { return name_of(a) < name_of(b); });
  index["manifests"] = keep;
  files::write_atomic(root_ / "index.json", canonical_json(index));
}

}  // namespace ksimg::oci
