// Caps on the uncompressed data read from archives (layer sources, .debs, toolchain
// tarballs), so a decompression bomb fails early instead of filling the disk
// (docs/security.md "Size"). Both default to 64 GiB and are set from the environment:
//   KSIMG_MAX_MEMBER_SIZE   one member's uncompressed size (sparse holes count)
//   KSIMG_MAX_ARCHIVE_SIZE  the sum over one archive's members
// Values are bytes with an optional K, M, G or T suffix (powers of 1024), e.g. 128G.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace ksimg::oci {

struct InputLimits {
  uint64_t member = uint64_t{64} << 30;
  uint64_t archive = uint64_t{64} << 30;
};

// The limits in force (defaults overridden by the environment); UsageError for a bad value.
InputLimits input_limits();

// "123", "64G", "512M", "2GiB": bytes (> 0); UsageError naming `what` when malformed.
uint64_t parse_size(std::string_view text, std::string_view what);

// "64 GiB", "1.5 MiB", "512 bytes".
std::string human_size(uint64_t bytes);

// Counts one archive's uncompressed bytes against the limits; IntegrityError naming the
// archive, the member, the cap and the variable that raises it.
class InputBudget {
 public:
  explicit InputBudget(std::string origin, InputLimits limits = input_limits())
      : origin_(std::move(origin)), limits_(limits) {}
  // A member about to be read, with the size its header declares (negative: unknown).
  void start(const std::string& member, int64_t declared);
  // `n` more bytes of the current member were read (or a hole of n bytes filled).
  void add(uint64_t n);

 private:
  [[noreturn]] void over(bool member_cap) const;
  std::string origin_, member_;
  InputLimits limits_;
  uint64_t member_bytes_ = 0, total_ = 0;
};

}  // namespace ksimg::oci
