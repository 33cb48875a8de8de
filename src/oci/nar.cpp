// NAR serialization hashed on the fly (see nar.hpp). Layout, as Nix's archive.cc writes it:
//   str("nix-archive-1") node
//   node  = "(" "type" ( "regular" ["executable" ""] "contents" str(bytes)
//                      | "symlink" "target" str(target)
//                      | "directory" { "entry" "(" "name" str(name) "node" node ")" } ) ")"
// where every token is a str: u64 little-endian length, bytes, zero padding to 8. Only the
// owner's executable bit counts; times, owners and other mode bits are not serialized.
#include "oci/nar.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "oci/base64.hpp"
#include "util/error.hpp"

namespace ksimg::oci {

namespace fs = std::filesystem;

namespace {

class NarWriter {
 public:
  void str(std::string_view s) {
    len(s.size());
    h_.update(s);
    pad(s.size());
  }
  void node(const fs::path& p);
  Digest finish() { return h_.finish(); }

 private:
  void len(uint64_t n) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(n >> (8 * i));
    h_.update(b, 8);
  }
  void pad(uint64_t n) {
    static const char zeros[8] = {};
    if (n % 8) h_.update(zeros, 8 - n % 8);
  }
  void regular(const fs::path& p, const struct stat& st);
  void directory(const fs::path& p);
  Sha256 h_;
};

void NarWriter::regular(const fs::path& p, const struct stat& st) {
  str("regular");
  if (st.st_mode & S_IXUSR) {
    str("executable");
    str("");
  }
  str("contents");
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) throw RuntimeError(errno_text("cannot open", p.string()));
  len(static_cast<uint64_t>(st.st_size));
  std::vector<char> buf(1 << 16);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      errno = e;
      throw RuntimeError(errno_text("cannot read", p.string()));
    }
    if (n == 0) break;
    h_.update(buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(fd);
  if (total != static_cast<uint64_t>(st.st_size))
    throw RuntimeError(p.string() +
                       " changed size while it was hashed; hash it again when it is not being written");
  pad(total);
}

void NarWriter::directory(const fs::path& p) {
  str("directory");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(p)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());  // std::string compares bytewise (char_traits<char>)
  for (const auto& n : names) {
    str("entry");
    str("(");
    str("name");
    str(n);
    str("node");
    node(p / n);
    str(")");
  }
}

void NarWriter::node(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) throw RuntimeError(errno_text("cannot stat", p.string()));
  str("(");
  str("type");
  if (S_ISREG(st.st_mode)) {
    regular(p, st);
  } else if (S_ISLNK(st.st_mode)) {
    str("symlink");
    str("target");
    str(fs::read_symlink(p).string());
  } else if (S_ISDIR(st.st_mode)) {
    directory(p);
  } else {
    throw RuntimeError(p.string() + " is neither a file, a directory nor a symlink; a NAR cannot hold it");
  }
  str(")");
}

}  // namespace

Digest nar_sha256(const fs::path& path) {
  NarWriter w;
  w.str("nix-archive-1");
  w.node(path);
  return w.finish();
}

std::string to_sri(const Digest& d) {
  std::string raw;
  const std::string& hex = d.hex();
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    raw.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return "sha256-" + base64_encode(raw);
}

std::optional<Digest> from_sri(std::string_view sri) {
  constexpr std::string_view prefix = "sha256-";
  if (sri.substr(0, prefix.size()) != prefix) return std::nullopt;
  auto raw = base64_decode(sri.substr(prefix.size()));
  if (!raw || raw->size() != 32) return std::nullopt;
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : *raw) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  auto d = Digest::try_parse("sha256:" + hex);
  if (!d || to_sri(*d) != sri) return std::nullopt;  // canonical form only
  return d;
}

}  // namespace ksimg::oci
