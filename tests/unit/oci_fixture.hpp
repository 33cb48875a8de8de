// Test helpers for the oci unit tests: scratch directories, a deterministic fixture tree
// (the golden tests pin its digests), and a tiny raw ustar/pax writer for crafting archives
// that libarchive-based code must read or reject (hostile names, xattr records).
#pragma once
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace oci_test {

namespace fs = std::filesystem;

// A fresh directory removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "ksimg-unit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& s) const { return path / s; }
};

inline void write_file(const fs::path& p, const std::string& content, mode_t mode = 0644) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
  ::chmod(p.c_str(), mode);
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void set_mtime(const fs::path& p, int64_t t) {
  struct timespec ts[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
  ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

// Deterministic pseudo-random bytes (an LCG), compressible enough to be interesting.
inline std::string pseudo_random(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1103515245u + 12345u;
    s[i] = static_cast<char>((seed >> 16) % 64 + ' ');
  }
  return s;
}

inline constexpr int64_t kEpoch = 1700000000;  // SOURCE_DATE_EPOCH of the fixture builds
inline constexpr int64_t kOld = 1000000000;    // an mtime older than the epoch, kept as is

struct FixtureVariant {
  bool reverse_order = false;         // create entries in the opposite order
  int64_t new_mtime = kEpoch + 1000;  // mtime of every entry but old.txt (>= kEpoch: clamped)
  bool chown_all = false;             // give every entry another owner (needs root)
};

// The golden fixture: files, modes (setuid, sticky), symlinks, hardlinks, a fifo, long and
// UTF-8 names and a multi-block file. No xattrs or devices: those depend on the host.
inline void make_fixture(const fs::path& root, const FixtureVariant& v = {}) {
  std::string long_dir =
      "long/" + std::string(60, 'd') + "/" + std::string(60, 'e');  // splits into ustar prefix
  std::string deep_dir = "deep";                                    // > 255 bytes: pax path
  for (char c = 'p'; c < 'u'; ++c) deep_dir += "/" + std::string(60, c);
  std::vector<std::function<void()>> steps = {
      [&] { write_file(root / "bin/tool", "#!/bin/sh\necho tool\n", 0755); },
      [&] { fs::create_symlink("tool", root / "bin/tool-link"); },
      [&] { write_file(root / "bin/suid", "suid\n", 04755); },
      [&] {  // three names, one inode: the smallest name ("a/config-link") must carry the data
        write_file(root / "etc/config", "key=value\n", 0644);
        fs::create_hard_link(root / "etc/config", root / "etc/hard");
        fs::create_directories(root / "a");
        fs::create_hard_link(root / "etc/config", root / "a/config-link");
      },
      [&] {
        fs::create_directories(root / "empty");
        ::chmod((root / "empty").c_str(), 0700);
      },
      [&] {
        fs::create_directories(root / "sticky");
        ::chmod((root / "sticky").c_str(), 01777);
      },
      [&] { write_file(root / "data/big.bin", pseudo_random(700000, 7), 0644); },
      [&] { write_file(root / long_dir / "file-in-a-long-directory.txt", "long path\n"); },
      [&] { write_file(root / "long" / std::string(255, 'n'), "255-byte name\n"); },
      [&] { write_file(root / deep_dir / "f.txt", "deep\n"); },
      [&] { write_file(root / "name with spaces.txt", "spaces\n"); },
      [&] {
        write_file(root /
                       "\xc3\xbcnic\xc3\xb8"
                       "de-\xe5\x90\x8d\xe5\x89\x8d.txt",
                   "utf-8\n");
      },
      [&] {
        ::mkfifo((root / "fifo").c_str(), 0640);
        ::chmod((root / "fifo").c_str(), 0640);
      },
      [&] { write_file(root / "old.txt", "old\n", 0444); },
  };
  if (v.reverse_order) std::reverse(steps.begin(), steps.end());
  fs::create_directories(root / "bin");
  fs::create_directories(root / "etc");
  for (auto& s : steps) s();
  for (auto& e : fs::recursive_directory_iterator(root)) {
    auto name = e.path().filename();
    if (e.is_directory() && !e.is_symlink() && name != "empty" && name != "sticky")
      ::chmod(e.path().c_str(), 0755);
    if (v.chown_all) ::lchown(e.path().c_str(), 1234, 5678);
    set_mtime(e.path(), e.path().filename() == "old.txt" ? kOld : v.new_mtime);
  }
  ::chmod((root / "bin/suid").c_str(), 04755);  // chown clears setuid; restore it
  set_mtime(root / "bin/suid", v.new_mtime);
}

// A raw ustar archive writer (test-only): enough to craft hostile or pax-laden inputs.
class TarBuilder {
 public:
  void add(const std::string& name, char type, const std::string& data = "", const std::string& link = "",
           unsigned mode = 0644) {
    header(name, type, data.size(), link, mode);
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
  }
  // A pax 'x' header with the given "key=value" records, applying to the next member.
  void pax(const std::vector<std::pair<std::string, std::string>>& records) {
    std::string body;
    for (const auto& [k, v] : records) {
      std::string rec = " " + k + "=" + v + "\n";
      size_t len = rec.size() + 1;
      while (std::to_string(len).size() + rec.size() != len) ++len;
      body += std::to_string(len) + rec;
    }
    add("PaxHeader/x", 'x', body);
  }
  std::string finish() { return out_ + std::string(1024, '\0'); }

 private:
  static void octal(char* field, size_t width, uint64_t v) {  // width-1 digits, then NUL
    for (size_t i = width - 1; i-- > 0; v >>= 3) field[i] = static_cast<char>('0' + (v & 7));
    field[width - 1] = '\0';
  }
  void header(const std::string& name, char type, size_t size, const std::string& link, unsigned mode) {
    char h[512] = {};
    std::memcpy(h, name.data(), std::min<size_t>(name.size(), 100));
    octal(h + 100, 8, mode);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, 0);
    h[156] = type;
    std::memcpy(h + 157, link.data(), std::min<size_t>(link.size(), 100));
    std::memcpy(h + 257,
                "ustar\0"
                "00",
                8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    octal(h + 148, 7, sum);
    h[155] = ' ';
    out_.append(h, 512);
  }
  std::string out_;
};

}  // namespace oci_test

#include "oci/image.hpp"
#include "oci/layer.hpp"
#include "oci/layout.hpp"

namespace oci_test {

struct Digests {
  std::string diff_id, blob, config, manifest;
  bool operator==(const Digests&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Digests& d) {
  return os << "{diff_id " << d.diff_id << ", blob " << d.blob << ", manifest " << d.manifest << "}";
}

inline ksimg::oci::ImageSpec fixture_spec() {
  ksimg::oci::ImageSpec spec;
  spec.platform = ksimg::oci::Platform::parse("linux/amd64");
  spec.env = {"PATH=/usr/bin:/bin", "KSIMG_ERA=k3"};
  spec.cmd = {"kbuild", "--help"};
  spec.labels = {{"org.example.cell", "k3-mipsel"}};
  spec.source = "https://example.invalid/ksimg";
  spec.revision = "0123456789abcdef";
  spec.created = kEpoch;
  return spec;
}

// Builds `tree` as a one-layer image tagged "golden" in a layout at `layout_dir`.
inline Digests build_digests(const fs::path& tree, const fs::path& layout_dir,
                             ksimg::oci::Compression c = ksimg::oci::Compression::gzip) {
  auto layout = ksimg::oci::Layout::create(layout_dir);
  ksimg::oci::LayerOptions opts;
  opts.source_date_epoch = kEpoch;
  opts.compression = c;
  ksimg::oci::LayerWriter w(opts);
  w.add_directory(tree);
  auto layer = w.write(layout);
  auto img = ksimg::oci::assemble_image(layout, fixture_spec(), {layer});
  layout.set_tag("golden", img.manifest);
  return {layer.diff_id.str(), layer.descriptor.digest.str(), img.config.digest.str(),
          img.manifest.digest.str()};
}

}  // namespace oci_test
