// A Debian suite's Release file (https://wiki.debian.org/DebianRepository/Format, "Release
// files") and the verification of its clearsigned form, InRelease, with gpgv.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ksimg::recipes {

struct IndexEntry {
  std::string sha256;  // lowercase hex
  uint64_t size = 0;
};

struct Release {
  std::string suite, codename;  // "stable", "trixie"
  std::string date;             // as written: "Sat, 09 Aug 2025 09:16:30 UTC"
  int64_t date_epoch = 0;
  std::optional<std::string> valid_until;
  std::optional<int64_t> valid_until_epoch;
  std::vector<std::string> architectures, components;
  bool acquire_by_hash = false;
  std::map<std::string, IndexEntry> sha256;  // path under dists/<suite>/ -> digest and size
};

// Parses the (already verified) Release text. Throws IntegrityError naming `what` when a
// required field (Date, SHA256, and Suite or Codename) is missing or malformed.
Release parse_release(std::string_view text, const std::string& what);

// Seconds since the epoch for an RFC 2822 date as Release files write it:
// "Sat, 09 Aug 2025 09:16:30 UTC" (zones UTC, GMT, Z or +hhmm/-hhmm; weekday optional).
// nullopt when malformed.
std::optional<int64_t> parse_release_date(std::string_view text);

// Verifies a clearsigned InRelease with `gpgv --keyring <keyring>` and returns the signed
// text only (gpgv's --output; the armor and anything outside the signed part are dropped).
// Accepted when at least one good signature (GOODSIG and VALIDSIG) by a key in the keyring is
// present and none is bad; signatures by keys not in the keyring are ignored (Debian signs
// with several keys). Throws IntegrityError naming `what` on a bad or missing signature,
// UsageError when the keyring file is missing or armored, RuntimeError when gpgv cannot run.
std::string verify_inrelease(const std::string& inrelease, const std::filesystem::path& keyring,
                             const std::string& what);

}  // namespace ksimg::recipes
