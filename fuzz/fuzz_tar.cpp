// libFuzzer target: the tar readers (src/oci/tar_read.hpp list_tar, tar_scan.hpp scan_tar,
// deb.hpp read_deb_control). They take files, so each input is written to a memfd and read
// through /proc/self/fd. Invariants: no member path is empty, and nothing but ksimg::Error escapes.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "fuzz_common.hpp"
#include "oci/deb.hpp"
#include "oci/tar_read.hpp"
#include "oci/tar_scan.hpp"

namespace {
struct Memfd {
  int fd;
  explicit Memfd(std::string_view bytes) : fd(memfd_create("fuzz", 0)) {
    if (fd < 0 || write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
      fuzz::broken("memfd", "cannot write the input");
  }
  ~Memfd() { close(fd); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ksimg::oci;
  Memfd f(fuzz::input(data, size));
  try {
    for (const auto& m : list_tar(f.path())) fuzz::check(!m.path.empty(), "tar member path", "empty");
  } catch (const ksimg::Error&) {
  }
  try {
    size_t total = 0;
    scan_tar(f.path(), [&](const TarMember&, MemberData& d) { total += d.read(4096).size(); });
  } catch (const ksimg::Error&) {
  }
  try {
    (void)read_deb_control(f.path(), true);
  } catch (const ksimg::Error&) {
  }
  return 0;
}
