// How push and pull show blob transfers on stderr: on a terminal one redrawn line per blob in
// flight (bytes, rate) above which finished blobs stay as plain lines; elsewhere only the plain
// line per finished blob ("uploaded 12.3 MiB in 1.2s (10.2 MiB/s)", "skipped", "mounted from
// ns/x"). And the --json summaries of push and pull.
#pragma once
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "registry/pull.hpp"
#include "registry/push.hpp"

namespace ksimg::cli {

class TransferView final : public registry::TransferEvents {
 public:
  // `verb`: "push" or "pull" (pull reports "downloaded" for registry::BlobAction::uploaded).
  explicit TransferView(std::string verb);
  ~TransferView() override;
  void set_image(const std::string& name);  // shown before each blob line
  void blob_started(const oci::Descriptor& d) override;
  void blob_progress(const oci::Descriptor& d, uint64_t bytes) override;
  void blob_finished(const registry::BlobResult& r) override;

 private:
  struct Active {
    int64_t size = 0;
    uint64_t done = 0;
    std::chrono::steady_clock::time_point start;
  };
  void clear_region();
  void draw_region();
  std::string finished_line(const registry::BlobResult& r) const;

  std::string verb_, image_;
  bool tty_;
  std::mutex mu_;
  std::map<std::string, Active> active_;
  size_t drawn_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

nlohmann::ordered_json push_json(const registry::PushResult& r, const std::string& cell);
nlohmann::ordered_json pull_json(const registry::PullResult& r);

}  // namespace ksimg::cli
