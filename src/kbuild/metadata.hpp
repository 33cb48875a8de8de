// OUT/metadata.json: the build's record, written when the build starts and
// rewritten atomically (temp file + rename) after every step, so a reader never sees a torn
// file and a build that dies leaves its last truthful state. status: running, succeeded,
// failed, killed (SIGTERM/SIGINT). A build killed with SIGKILL cannot write: its record
// still says "running", with `started` and `updated` telling how long ago it last moved.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace ksimg::kbuild {

class Metadata {
 public:
  explicit Metadata(std::filesystem::path file);
  nlohmann::ordered_json& doc() { return doc_; }
  // Sets "updated" and writes the file atomically.
  void save();
  // Records a step's outcome: steps[] gets {name, status, seconds, cpu_seconds[, command]}; save()s.
  void step(const std::string& name, const std::string& status, double seconds,
            const std::string& command = "");
  // Sets status (and "finished" unless running), cpu_seconds (the whole build's) and saves.
  void finish(const std::string& status, const std::string& error = "");
  // User+system CPU seconds of the commands run (and waited for) since the previous lap, one
  // decimal: what a step or target cost in CPU, which a busy machine barely changes.
  double cpu_lap();

 private:
  double lap_mark_ = 0;

  std::filesystem::path file_;
  nlohmann::ordered_json doc_;
};

// The current UTC time as "2026-11-24T05:30:00Z".
std::string utc_now();

// User+system CPU seconds of this process (self) or of its waited-for children, their
// children included (getrusage).
double cpu_seconds_of(bool children);

}  // namespace ksimg::kbuild
