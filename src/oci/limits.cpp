// Input size caps (limits.hpp; docs/security.md "Size"): parsing KSIMG_MAX_MEMBER_SIZE and
// KSIMG_MAX_ARCHIVE_SIZE and counting an archive's uncompressed bytes against them.
#include "oci/limits.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "util/error.hpp"

namespace ksimg::oci {

namespace {

constexpr const char* kMemberVar = "KSIMG_MAX_MEMBER_SIZE";
constexpr const char* kArchiveVar = "KSIMG_MAX_ARCHIVE_SIZE";

uint64_t from_env(const char* var, uint64_t fallback) {
  const char* v = std::getenv(var);
  if (!v || !*v) return fallback;
  return parse_size(v, var);
}

}  // namespace

uint64_t parse_size(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return UsageError(std::string(what) + "='" + std::string(text) +
                      "' is not a size; give bytes with an optional K, M, G or T suffix, e.g. 64G");
  };
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end == text.data()) throw bad();
  std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit.ends_with("iB")) unit.remove_suffix(2);
  static constexpr std::string_view units = "KMGT";
  int shift = 0;
  if (unit.size() == 1 && units.find(unit[0]) != std::string_view::npos)
    shift = 10 * (static_cast<int>(units.find(unit[0])) + 1);
  else if (!unit.empty())
    throw bad();
  if (n == 0 || (shift > 0 && n > (UINT64_MAX >> shift))) throw bad();
  return n << shift;
}

std::string human_size(uint64_t bytes) {
  static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  double v = static_cast<double>(bytes);
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0 || v == static_cast<double>(static_cast<uint64_t>(v)))
    std::snprintf(buf, sizeof buf, "%llu %s", static_cast<unsigned long long>(v), units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

InputLimits input_limits() {
  InputLimits l;
  l.member = from_env(kMemberVar, l.member);
  l.archive = from_env(kArchiveVar, l.archive);
  return l;
}

void InputBudget::start(const std::string& member, int64_t declared) {
  member_ = member;
  member_bytes_ = 0;
  if (declared <= 0) return;
  auto d = static_cast<uint64_t>(declared);
  if (d > limits_.member) over(true);
  if (d > limits_.archive - std::min(total_, limits_.archive)) over(false);
}

void InputBudget::add(uint64_t n) {
  member_bytes_ += n;
  total_ += n;
  if (member_bytes_ > limits_.member) over(true);
  if (total_ > limits_.archive) over(false);
}

void InputBudget::over(bool member_cap) const {
  if (member_cap)
    throw IntegrityError(origin_ + ": member '" + member_ + "' is larger than the " +
                         human_size(limits_.member) +
                         " cap on one member's uncompressed size; if it is genuine, raise it with " +
                         kMemberVar + "=SIZE (e.g. 128G)");
  throw IntegrityError(origin_ + " unpacks to more than the " + human_size(limits_.archive) +
                       " cap on an archive's uncompressed size (at member '" + member_ +
                       "'); if it is genuine, raise it with " + kArchiveVar + "=SIZE (e.g. 128G)");
}

}  // namespace ksimg::oci
