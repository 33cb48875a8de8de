// Layout consistency check (see check.hpp), after image-spec image-layout.md: the layout
// marker, index.json as an image index, every descriptor reachable from it (manifests, nested
// indexes, configs, layers) present with its size and sha256, every file in blobs/sha256/
// hashing to its own name, and temp files of writers that never finished listed apart.
#include "oci/check.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "util/error.hpp"

namespace ksimg::oci {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxDepth = 8;

bool is_hex64(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool is_index_type(const std::string& t) {
  return t == media::index || t == "application/vnd.docker.distribution.manifest.list.v2+json";
}

bool is_manifest_type(const std::string& t) {
  return t == media::manifest || t == "application/vnd.docker.distribution.manifest.v2+json";
}

struct Checker {
  const Layout& layout;
  LayoutCheck r;
  std::map<std::string, Digest> hashed;  // hex name -> digest of the bytes on disk
  std::set<std::string> referenced;      // hex names reached from index.json

  void problem(const std::string& s) { r.problems.push_back(s); }

  // The digest of blobs/sha256/<hex>'s bytes, hashed once.
  const Digest& actual(const std::string& hex) {
    auto it = hashed.find(hex);
    if (it == hashed.end()) it = hashed.emplace(hex, sha256_file(layout.root() / "blobs/sha256" / hex)).first;
    return it->second;
  }

  // Present, of the descriptor's size and digest; one problem line otherwise.
  bool blob_ok(const Descriptor& d, const std::string& where) {
    referenced.insert(d.digest.hex());
    fs::path p = layout.blob_path(d.digest);
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) {
      problem(where + " references " + d.digest.str() + ", which is missing from blobs/sha256/" +
              (errno == ENOENT ? "" : std::string(" (") + std::strerror(errno) + ")") +
              "; build or pull the image again");
      return false;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != d.size) {
      problem(where + " references " + d.digest.str() + " of " + std::to_string(d.size) +
              " bytes, but the blob has " + std::to_string(st.st_size) + " (a partial write); delete " +
              p.string() + " and build again");
      return false;
    }
    if (actual(d.digest.hex()) != d.digest) {
      problem(where + " references " + d.digest.str() + ", whose bytes hash to " +
              actual(d.digest.hex()).str() + "; delete " + p.string() + " and build again");
      return false;
    }
    return true;
  }

  nlohmann::json read_json(const Descriptor& d, const std::string& where) {
    if (!blob_ok(d, where)) return nullptr;
    auto j = nlohmann::json::parse(files::read(layout.blob_path(d.digest)), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      problem(where + ": " + d.digest.str() + " is not a JSON object");
      return nullptr;
    }
    return j;
  }

  // One descriptor and everything below it.
  void walk(const Descriptor& d, const std::string& where, int depth) {
    bool is_index = is_index_type(d.media_type), is_manifest = is_manifest_type(d.media_type);
    if (!is_index && !is_manifest) {
      blob_ok(d, where);
      return;
    }
    ++r.manifests;
    if (depth > kMaxDepth)
      return problem(where + ": indexes nested deeper than " + std::to_string(kMaxDepth));
    auto j = read_json(d, where);
    if (j.is_null()) return;
    try {
      if (is_index) {
        if (!j.contains("manifests") || !j["manifests"].is_array())
          return problem(where + ": index without manifests");
        for (const auto& m : j["manifests"])
          walk(Descriptor::from_json(m), where + " > " + d.digest.str(), depth + 1);
        return;
      }
      if (!j.contains("config") || !j.contains("layers") || !j["layers"].is_array())
        return problem(where + ": manifest " + d.digest.str() + " has no config or layers");
      blob_ok(Descriptor::from_json(j["config"]), where + " config");
      size_t n = 0;
      for (const auto& l : j["layers"])
        blob_ok(Descriptor::from_json(l), where + " layer " + std::to_string(++n));
    } catch (const Error& e) {
      problem(where + ": manifest " + d.digest.str() + ": " + e.what());
    }
  }

  void walk_index() {
    nlohmann::json index;
    try {
      index = layout.read_index();
    } catch (const Error& e) {
      return problem(e.what());
    }
    std::map<std::string, int> names;
    size_t n = 0;
    for (const auto& m : index["manifests"]) {
      ++n;
      try {
        auto d = Descriptor::from_json(m);
        auto it = d.annotations.find(std::string(annotation::ref_name));
        std::string name = it == d.annotations.end() ? "" : it->second;
        if (!name.empty() && ++names[name] == 2)
          problem("index.json names tag '" + name + "' more than once; tag the image again to fix it");
        walk(d, name.empty() ? "index.json entry " + std::to_string(n) : "tag " + name, 0);
      } catch (const Error& e) {
        problem("index.json entry " + std::to_string(n) + ": " + e.what());
      }
    }
    r.tags = names.size();
  }

  void scan_blobs() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layout.root() / "blobs/sha256", ec)) {
      std::string name = e.path().filename().string();
      if (name.find(".tmp-") != std::string::npos) {
        r.temp_files.push_back("blobs/sha256/" + name);
      } else if (!is_hex64(name) || !e.is_regular_file()) {
        problem("blobs/sha256/" + name +
                " is not a blob (not a file named by 64 lowercase hex digits); remove it");
      } else {
        ++r.blobs;
        if (!referenced.count(name)) ++r.unreferenced;
        if (actual(name).hex() != name)
          problem("blobs/sha256/" + name + " holds bytes that hash to " + actual(name).str() +
                  " (a partial or corrupt write); delete it and build again");
      }
    }
    if (ec) problem("cannot list " + (layout.root() / "blobs/sha256").string() + ": " + ec.message());
  }

  void scan_temps() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(layout.temp_dir(), ec))
      r.temp_files.push_back(fs::relative(e.path(), layout.root()).string());
    for (const auto& e : fs::directory_iterator(layout.root(), ec))
      if (e.path().filename().string().find(".tmp-") != std::string::npos)
        r.temp_files.push_back(e.path().filename().string());
  }
};

}  // namespace

LayoutCheck check_layout(const Layout& layout) {
  Checker c{layout, {}, {}, {}};
  c.walk_index();
  c.scan_blobs();
  c.scan_temps();
  c.r.referenced = c.referenced.size();
  return c.r;
}

}  // namespace ksimg::oci
