// Release parsing and InRelease verification (see deb_release.hpp). Field meanings follow
// https://wiki.debian.org/DebianRepository/Format ("Release files"); the signature policy
// mirrors apt's gpgv method: a good signature by a trusted key with a SHA-2 digest, no bad
// one; gpgv's machine-readable --status-fd lines are documented in gnupg's doc/DETAILS.
#include "recipes/deb_release.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "recipes/deb_control.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

namespace ksimg::recipes {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

std::optional<int> month_number(std::string_view m) {
  static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (iequals(m, names[i])) return i + 1;
  return std::nullopt;
}

// Seconds east of UTC for "UTC", "GMT", "Z", "+hhmm", "-hhmm".
std::optional<int> zone_offset(std::string_view z) {
  if (iequals(z, "UTC") || iequals(z, "GMT") || iequals(z, "Z") || iequals(z, "UT")) return 0;
  if (z.size() != 5 || (z[0] != '+' && z[0] != '-') || !all_digits(z.substr(1))) return std::nullopt;
  int hh = std::stoi(std::string(z.substr(1, 2))), mm = std::stoi(std::string(z.substr(3, 2)));
  if (hh > 23 || mm > 59) return std::nullopt;
  return (z[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
}

IndexEntry index_entry(const std::vector<std::string>& w, const std::string& what) {
  bool ok = w.size() == 3 && w[0].size() == 64 && all_digits(w[1]) && w[1].size() < 19 &&
            w[0].find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  if (!ok) throw IntegrityError(what + ": malformed SHA256 line; expected '<sha256> <size> <path>'");
  IndexEntry e{w[0], std::stoull(w[1])};
  for (char& c : e.sha256) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

}  // namespace

std::optional<int64_t> parse_release_date(std::string_view text) {
  auto w = split_words(text);
  if (!w.empty() && w[0].back() == ',') w.erase(w.begin());  // weekday
  if (w.size() != 5 || !all_digits(w[0]) || w[0].size() > 2 || !all_digits(w[2]) || w[2].size() != 4)
    return std::nullopt;
  auto mon = month_number(w[1]);
  auto off = zone_offset(w[4]);
  const std::string& t = w[3];
  if (!mon || !off || t.size() != 8 || t[2] != ':' || t[5] != ':' || !all_digits(t.substr(0, 2)) ||
      !all_digits(t.substr(3, 2)) || !all_digits(t.substr(6, 2)))
    return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year{std::stoi(w[2])}, month{static_cast<unsigned>(*mon)},
                     day{static_cast<unsigned>(std::stoi(w[0]))}};
  int hh = std::stoi(t.substr(0, 2)), mm = std::stoi(t.substr(3, 2)), ss = std::stoi(t.substr(6, 2));
  if (!ymd.ok() || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
  int64_t days = sys_days(ymd).time_since_epoch().count();
  return days * 86400 + hh * 3600 + mm * 60 + ss - *off;
}

Release parse_release(std::string_view text, const std::string& what) {
  std::vector<Paragraph> ps;
  try {
    ps = parse_paragraphs(text);
  } catch (const ControlError& e) {
    throw IntegrityError(what + " line " + std::to_string(e.line) + ": " + e.what());
  }
  if (ps.empty()) throw IntegrityError(what + " is empty");
  const Paragraph& p = ps.front();
  Release r;
  r.suite = p.folded("Suite");
  r.codename = p.folded("Codename");
  r.date = p.folded("Date");
  if (r.suite.empty() && r.codename.empty()) throw IntegrityError(what + " has neither Suite nor Codename");
  auto date = parse_release_date(r.date);
  if (!date) throw IntegrityError(what + ": Date '" + r.date + "' is missing or not an RFC 2822 date");
  r.date_epoch = *date;
  if (p.has("Valid-Until")) {
    r.valid_until = p.folded("Valid-Until");
    r.valid_until_epoch = parse_release_date(*r.valid_until);
    if (!r.valid_until_epoch)
      throw IntegrityError(what + ": Valid-Until '" + *r.valid_until + "' is malformed");
  }
  r.architectures = split_words(p.folded("Architectures"));
  r.components = split_words(p.folded("Components"));
  r.acquire_by_hash = iequals(p.folded("Acquire-By-Hash"), "yes");
  if (!p.has("SHA256"))
    throw IntegrityError(what + " has no SHA256 list (ksimg trusts only SHA-256 index digests)");
  for (auto line : p.lines("SHA256")) {
    auto w = split_words(line);
    if (w.empty()) continue;
    IndexEntry e = index_entry(w, what);
    r.sha256[w[2]] = e;
  }
  return r;
}

namespace {

struct SigCheck {
  int good = 0;
  bool bad = false;
  std::vector<std::string> notes;
  void note(const std::string& n) {
    if (std::find(notes.begin(), notes.end(), n) == notes.end()) notes.push_back(n);
  }
};

// Reads gpgv's status lines ("[GNUPG:] KEYWORD args...", gnupg doc/DETAILS).
SigCheck read_status(const std::string& status) {
  SigCheck c;
  bool pending_good = false;
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    auto w = split_words(line);
    if (w.size() < 2 || w[0] != "[GNUPG:]") continue;
    const std::string& k = w[1];
    std::string key = w.size() > 2 ? w[2] : "?";
    if (k == "NEWSIG") pending_good = false;
    if (k == "GOODSIG") pending_good = true;
    if (k == "BADSIG") c.bad = true;
    if (k == "EXPKEYSIG" || k == "REVKEYSIG" || k == "EXPSIG") {
      pending_good = false;
      c.note((k == "REVKEYSIG" ? "revoked key " : "expired key or signature ") + key);
    }
    if (k == "ERRSIG" || k == "NO_PUBKEY") c.note("no public key " + key);
    if (k == "VALIDSIG") {
      int hash_algo = w.size() > 9 && all_digits(w[9]) ? std::stoi(w[9]) : 0;
      if (pending_good && hash_algo >= 8) ++c.good;  // 8..11: SHA-256/384/512/224
      if (pending_good && hash_algo < 8) c.note("weak digest algorithm from key " + key);
      pending_good = false;
    }
  }
  return c;
}

void check_keyring(const std::filesystem::path& keyring) {
  auto head = files::read_if_exists(keyring);
  if (!head)
    throw UsageError(
        "Debian archive keyring " + keyring.string() +
        " not found; install debian-archive-keyring or pass --keyring FILE (env KSIMG_DEBIAN_KEYRING)");
  if (head->rfind("-----BEGIN PGP", 0) == 0)
    throw UsageError("keyring " + keyring.string() +
                     " is ASCII-armored; gpgv needs a binary keyring: gpg --dearmor <" + keyring.string() +
                     " >keyring.gpg");
}

}  // namespace

std::string verify_inrelease(const std::string& inrelease, const std::filesystem::path& keyring,
                             const std::string& what) {
  check_keyring(keyring);
  if (inrelease.rfind("-----BEGIN PGP SIGNED MESSAGE-----", 0) != 0)
    throw IntegrityError(what + " is not a clearsigned InRelease file; the mirror sent something else");
  TempDir home("ksimg-gpgv");
  std::vector<std::string> argv{"gpgv",
                                "--homedir",
                                home.path().string(),
                                "--status-fd",
                                "2",
                                "--keyring",
                                std::filesystem::absolute(keyring).string(),
                                "--output",
                                "-",
                                "-"};
  subprocess::Options o;
  o.input = inrelease;
  auto r = subprocess::run(argv, o);
  SigCheck c = read_status(r.err);
  if (c.bad) throw IntegrityError(what + ": BAD signature (the file was altered after signing); refusing it");
  if (c.good == 0) {
    std::string why = c.notes.empty() ? subprocess::describe_failure(argv, r) : c.notes.front();
    for (size_t i = 1; i < c.notes.size(); ++i) why += ", " + c.notes[i];
    throw IntegrityError(what + ": no good signature by a key in " + keyring.string() + " (" + why +
                         "); check --keyring and the mirror");
  }
  if (r.out.empty()) throw IntegrityError(what + ": gpgv verified the signature but returned no signed text");
  return r.out;
}

}  // namespace ksimg::recipes
