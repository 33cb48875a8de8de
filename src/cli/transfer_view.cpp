// Blob transfer display and JSON summaries for push and pull (see transfer_view.hpp). The
// terminal region uses ANSI cursor-up (ESC [ n A) and erase-line (ESC [ K) sequences.
#include "cli/transfer_view.hpp"

#include <cstdio>
#include <iostream>

#include "util/log.hpp"
#include "util/progress.hpp"

namespace ksimg::cli {

namespace {

std::string short_digest(const oci::Digest& d) {
  return d.hex().substr(0, 12);
}

std::string rate(uint64_t bytes, double secs) {
  return secs > 0.05 ? Progress::bytes(static_cast<uint64_t>(bytes / secs)) + "/s" : "-";
}

std::string fixed1(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

TransferView::TransferView(std::string verb)
    : verb_(std::move(verb)), tty_(log::stderr_is_tty() && log::level() >= log::Level::normal) {}

TransferView::~TransferView() {
  std::lock_guard lk(mu_);
  clear_region();
}

void TransferView::set_image(const std::string& name) {
  std::lock_guard lk(mu_);
  image_ = name;
}

void TransferView::clear_region() {
  if (!tty_ || drawn_ == 0) return;
  std::cerr << "\033[" << drawn_ << "A";
  for (size_t i = 0; i < drawn_; ++i) std::cerr << "\r\033[K\n";
  std::cerr << "\033[" << drawn_ << "A" << std::flush;
  drawn_ = 0;
}

void TransferView::draw_region() {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  for (const auto& [hex, a] : active_) {
    double secs = std::chrono::duration<double>(now - a.start).count();
    std::string line = "  " + image_ + " " + hex.substr(0, 12) + "  " + Progress::bytes(a.done) + " / " +
                       Progress::bytes(static_cast<uint64_t>(a.size)) + "  " + rate(a.done, secs);
    std::cerr << "\r\033[K" << line << "\n";
  }
  drawn_ = active_.size();
  std::cerr << std::flush;
  last_draw_ = now;
}

void TransferView::blob_started(const oci::Descriptor& d) {
  std::lock_guard lk(mu_);
  active_[d.digest.hex()] = {d.size, 0, std::chrono::steady_clock::now()};
  clear_region();
  draw_region();
}

void TransferView::blob_progress(const oci::Descriptor& d, uint64_t bytes) {
  std::lock_guard lk(mu_);
  auto it = active_.find(d.digest.hex());
  if (it == active_.end()) return;
  it->second.done = bytes;
  if (tty_ && std::chrono::steady_clock::now() - last_draw_ > std::chrono::milliseconds(125)) {
    clear_region();
    draw_region();
  }
}

std::string TransferView::finished_line(const registry::BlobResult& r) const {
  std::string what = image_ + " " + short_digest(r.desc.digest) + " " + Progress::bytes(r.desc.size) + " ";
  switch (r.action) {
    case registry::BlobAction::skipped:
      return what +
             (verb_ == "push" ? "skipped (already in the registry)" : "skipped (already in the layout)");
    case registry::BlobAction::mounted:
      return what + "mounted from " + r.mounted_from;
    case registry::BlobAction::uploaded:
      break;
  }
  return what + (verb_ == "push" ? "uploaded" : "downloaded") + " in " + fixed1(r.seconds) + "s (" +
         rate(r.bytes_sent, r.seconds) + ")";
}

void TransferView::blob_finished(const registry::BlobResult& r) {
  std::lock_guard lk(mu_);
  active_.erase(r.desc.digest.hex());
  clear_region();
  log::info(finished_line(r));
  draw_region();
}

nlohmann::ordered_json push_json(const registry::PushResult& r, const std::string& cell) {
  nlohmann::ordered_json blobs = nlohmann::ordered_json::array();
  for (const auto& b : r.blobs) {
    nlohmann::ordered_json j = {
        {"digest", b.desc.digest.str()}, {"size", b.desc.size}, {"action", registry::action_name(b.action)}};
    if (!b.mounted_from.empty()) j["from"] = b.mounted_from;
    blobs.push_back(j);
  }
  return {{"cell", cell.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(cell)},
          {"tag", r.layout_tag},
          {"reference", r.reference},
          {"digest", r.manifest.digest.str()},
          {"size", r.manifest.size},
          {"blobs", blobs},
          {"bytes_sent", r.bytes_sent},
          {"bytes_skipped", r.bytes_skipped}};
}

nlohmann::ordered_json pull_json(const registry::PullResult& r) {
  nlohmann::ordered_json blobs = nlohmann::ordered_json::array();
  for (const auto& b : r.blobs)
    blobs.push_back({{"digest", b.desc.digest.str()},
                     {"size", b.desc.size},
                     {"action", b.action == registry::BlobAction::skipped ? "skipped" : "downloaded"}});
  return {{"tag", r.layout_tag},
          {"reference", r.reference},
          {"digest", r.manifest.digest.str()},
          {"size", r.manifest.size},
          {"blobs", blobs},
          {"bytes_received", r.bytes_received},
          {"bytes_skipped", r.bytes_skipped}};
}

}  // namespace ksimg::cli
