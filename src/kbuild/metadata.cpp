// metadata.json writer (see metadata.hpp; fields documented in docs/kbuild.md). Atomic
// replacement uses util/files write_atomic (temp + fsync + rename). CPU figures come from
// getrusage: a build's children are waited for, so RUSAGE_CHILDREN covers make and every compile.
#include "kbuild/metadata.hpp"

#include <sys/resource.h>

#include <ctime>

#include "util/files.hpp"

namespace ksimg::kbuild {

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

double cpu_seconds_of(bool children) {
  rusage u{};
  getrusage(children ? RUSAGE_CHILDREN : RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

namespace {
double tenths(double s) {
  return static_cast<double>(static_cast<long long>(s * 10 + 0.5)) / 10;
}
}  // namespace

double Metadata::cpu_lap() {
  double now = cpu_seconds_of(true), lap = now - lap_mark_;
  lap_mark_ = now;
  return tenths(lap);
}

Metadata::Metadata(std::filesystem::path file) : lap_mark_(cpu_seconds_of(true)), file_(std::move(file)) {
  doc_["schema"] = 1;
  doc_["status"] = "running";
  doc_["started"] = utc_now();
  doc_["updated"] = doc_["started"];
  doc_["finished"] = nullptr;
  doc_["steps"] = nlohmann::ordered_json::array();
}

void Metadata::save() {
  doc_["updated"] = utc_now();
  files::write_atomic(file_, doc_.dump(2) + "\n");
}

void Metadata::step(const std::string& name, const std::string& status, double seconds,
                    const std::string& command) {
  nlohmann::ordered_json s = {{"name", name},
                              {"status", status},
                              {"seconds", static_cast<double>(static_cast<long long>(seconds * 10)) / 10},
                              {"cpu_seconds", cpu_lap()}};
  if (!command.empty()) s["command"] = command;
  doc_["steps"].push_back(s);
  save();
}

void Metadata::finish(const std::string& status, const std::string& error) {
  doc_["status"] = status;
  if (status != "running") doc_["finished"] = utc_now();
  doc_["cpu_seconds"] = tenths(cpu_seconds_of(true) + cpu_seconds_of(false));
  if (!error.empty()) doc_["error"] = error;
  save();
}

}  // namespace ksimg::kbuild
