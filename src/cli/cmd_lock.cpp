// `ksimg lock`: resolves recipes to exact bytes into the lock file (docs/lock.md) and prints
// a summary; the work is recipes::lock_recipes. Progress goes to stderr, results to stdout.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/render.hpp"
#include "http/transport.hpp"
#include "recipes/locker.hpp"

namespace ksimg::cli {

namespace {

struct LockOpts {
  std::vector<std::string> recipes, cells;
  std::string lock_file = "ksimg.lock.json";
  std::string mirror;
  std::string keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  bool json = false;
};

std::string mib(uint64_t b) {
  return std::to_string(b / (1 << 20)) + "." + std::to_string(b % (1 << 20) * 10 / (1 << 20)) + " MiB";
}

nlohmann::ordered_json result_json(const LockOpts& o, const recipes::LockResult& r) {
  nlohmann::ordered_json rs = nlohmann::ordered_json::array(), suites = nlohmann::ordered_json::object();
  size_t packages = 0;
  uint64_t bytes = 0;
  for (const auto& x : r.recipes) {
    nlohmann::ordered_json j{{"name", x.name}, {"kind", x.kind}, {"status", x.status}};
    if (x.kind == "debian")
      j.update({{"suite", x.suite},
                {"packages", x.packages},
                {"bytes", x.bytes},
                {"external_depends", x.external_depends}});
    if (x.arm64_packages)
      j["hosts"] = {{"arm64",
                     {{"packages", x.arm64_packages},
                      {"bytes", x.arm64_bytes},
                      {"external_depends", x.arm64_external_depends}}}};
    rs.push_back(j);
    packages += x.packages;
    bytes += x.bytes;
  }
  for (const auto& [name, s] : r.lock.debian_suites)
    suites[name] = {{"codename", s.codename}, {"suite", s.suite}, {"date", s.date}};
  return {{"lock_file", o.lock_file},
          {"written", r.written},
          {"source_date_epoch", r.lock.source_date_epoch},
          {"packages", packages},
          {"bytes", bytes},
          {"suites", suites},
          {"recipes", rs}};
}

void print_text(const LockOpts& o, const recipes::LockResult& r) {
  std::vector<std::vector<std::string>> rows{
      {"RECIPE", "KIND", "STATUS", "SUITE", "PACKAGES", "SIZE", "ARM64"}};
  size_t locked = 0, pending = 0, packages = 0;
  uint64_t bytes = 0;
  for (const auto& x : r.recipes) {
    bool deb = x.kind == "debian";
    rows.push_back(
        {x.name, x.kind, x.status, deb ? x.suite : "-", deb ? std::to_string(x.packages) : "-",
         deb ? mib(x.bytes) : "-",
         x.arm64_packages ? std::to_string(x.arm64_packages) + " (" + mib(x.arm64_bytes) + ")" : "-"});
    (x.status == "pending" ? pending : locked)++;
    packages += x.packages;
    bytes += x.bytes;
  }
  std::string suites;
  for (const auto& [name, s] : r.lock.debian_suites)
    suites += (suites.empty() ? "" : "; ") + name + " (" + s.suite + ", " + s.date + ")";
  std::cout << table(
                   {{"lock", o.lock_file + (r.written ? " (written)" : " (unchanged)")},
                    {"recipes", std::to_string(locked) + " locked, " + std::to_string(pending) + " pending"},
                    {"packages", std::to_string(packages) + " (" + mib(bytes) + ")"},
                    {"suites", suites.empty() ? "-" : suites},
                    {"epoch", "SOURCE_DATE_EPOCH=" + std::to_string(r.lock.source_date_epoch)}})
            << "\n"
            << table(rows);
}

void run(const LockOpts& o) {
  recipes::LockRequest req;
  req.data_dir = global().data_dir;
  req.recipes = o.recipes;
  req.cells = o.cells;
  req.mirror_flag = o.mirror;
  req.keyring = o.keyring;
  req.lock_file = o.lock_file;
  auto transport = http::make_transport();
  auto res = recipes::lock_recipes(req, *transport);
  if (o.json)
    std::cout << result_json(o, res).dump(2) << "\n";
  else
    print_text(o, res);
}

}  // namespace

void add_lock(CLI::App& app) {
  auto o = std::make_shared<LockOpts>();
  auto* sub = app.add_subcommand(
      "lock", "Resolve recipes to exact bytes (package versions, pool paths, sha256) into the lock file");
  sub->add_option("--recipe", o->recipes, "Lock only this recipe (repeatable); default: every recipe");
  sub->add_option("--cell", o->cells,
                  "Lock only this cell's recipes, ERA/ARCH such as k4/mipsel (repeatable)");
  sub->add_option("--lock", o->lock_file, "Lock file to update (env KSIMG_LOCK)")
      ->envname("KSIMG_LOCK")
      ->capture_default_str();
  sub->add_option("--debian-mirror", o->mirror,
                  "Debian archive root URL (env KSIMG_DEBIAN_MIRROR); default: the host's apt sources")
      ->envname("KSIMG_DEBIAN_MIRROR");
  sub->add_option("--keyring", o->keyring,
                  "Keyring gpgv checks InRelease signatures with (env KSIMG_DEBIAN_KEYRING)")
      ->envname("KSIMG_DEBIAN_KEYRING")
      ->capture_default_str();
  sub->add_flag("--json", o->json, "Print the summary as JSON");
  sub->footer(
      "A selection (--recipe, --cell) updates those entries and keeps the rest of the lock;\n"
      "without one, every recipe is locked and entries of removed recipes are dropped.\n"
      "The mirror is never written into the lock: packages are recorded by pool path.\n\n"
      "Examples:\n"
      "  ksimg lock                                   # every recipe -> ./ksimg.lock.json\n"
      "  ksimg lock --cell k4/mipsel --cell k6/mipsel\n"
      "  ksimg lock --recipe debian-trixie-gcc13-arm64 --json\n"
      "  ksimg lock --debian-mirror https://mirror.example.org/debian --lock ci/ksimg.lock.json");
  sub->callback([o] { run(*o); });
}

}  // namespace ksimg::cli
