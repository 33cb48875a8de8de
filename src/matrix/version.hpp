// Kernel versions as people type them ("2.6.39.4", "v5.10", "linux-5.10.229", "6.0-rc1")
// or as a kernel tree's top Makefile states them, and the ordering the era bands use.
#pragma once
#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace ksimg::matrix {

struct Version {
  int major = 0, minor = 0;
  std::optional<int> patch;  // SUBLEVEL ("5.10.229" -> 229); absent in "5.10"
  std::optional<int> sub;    // the fourth number of 2.6 stable releases ("2.6.39.4" -> 4)
  std::optional<int> rc;     // "-rcN"
  std::string extra;         // any other EXTRAVERSION read from a Makefile ("-custom")

  // Canonical text: "5.10.229", "6.0-rc1", "2.6.39.4".
  std::string str() const;

  // Band order: numeric per component, a missing component counts as 0, and a release
  // candidate sorts with the release it precedes ("6.0-rc1" is in the 6.0 band, as in
  // kernelsmith's resolve.nix, where "6.0-rc1" is not older than "6.0").
  std::strong_ordering band_compare(const Version& o) const;
  bool before(const Version& o) const { return band_compare(o) < 0; }
};

// Parses a typed version. Accepts an optional "v" or "linux-" prefix and an "-rcN" suffix.
// Throws UsageError naming the problem and the accepted forms.
Version parse_version(std::string_view text);

// Reads VERSION/PATCHLEVEL/SUBLEVEL/EXTRAVERSION from a kernel top-level Makefile.
// Throws UsageError when they are missing (`origin` names the file in the message).
Version parse_makefile_version(std::string_view makefile, const std::string& origin);

// A short help text listing the accepted version forms (for error messages).
const char* version_forms();

}  // namespace ksimg::matrix

namespace ksimg::matrix {
// Compares dotted tool versions numerically ("2.35.2" vs "2.31"): <0, 0, >0.
// Non-numeric components compare as text.
int compare_dotted(std::string_view a, std::string_view b);
}  // namespace ksimg::matrix
