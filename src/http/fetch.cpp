// Status checks, downloads and retries over http::Transport (see fetch.hpp). Retry rules:
// RFC 9110 §15.5.9 (408), §15.6 (5xx), §10.2.3 (Retry-After); RFC 6585 §4 (429).
#include "http/fetch.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include "util/error.hpp"
#include "util/log.hpp"

namespace ksimg::http {

using std::chrono::milliseconds;

void expect_ok(const Request& req, const Response& resp) {
  if (resp.ok()) return;
  std::string msg = req.method + " " + req.url + ": HTTP " + std::to_string(resp.status);
  if (!resp.reason.empty()) msg += " " + resp.reason;
  if (!resp.url.empty() && resp.url != req.url) msg += " (from " + resp.url + ")";
  throw StatusError(msg, resp.status);
}

bool retryable_status(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599 && status != 501 && status != 505);
}

namespace {

milliseconds jittered(milliseconds d) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  auto half = d.count() / 2;
  std::uniform_int_distribution<long long> dist(half, std::max<long long>(half, d.count()));
  return milliseconds(dist(rng));
}

std::optional<milliseconds> retry_after(const Response& r) {
  auto v = r.header("retry-after");
  if (!v || v->empty() || !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;  // an HTTP-date is rare for these statuses; the backoff applies then
  if (v->size() > 6) return milliseconds::max();
  return milliseconds(std::stoll(*v) * 1000);
}

std::string seconds_text(milliseconds d) {
  std::string s = std::to_string(d.count() / 1000) + "." + std::to_string(d.count() % 1000 / 100);
  return s + "s";
}

}  // namespace

Response with_retry(const std::function<Response()>& attempt, const RetryPolicy& policy) {
  std::function<void(milliseconds)> sleep = policy.sleep;
  if (!sleep) sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  milliseconds delay = policy.first_delay;
  for (int i = 1;; ++i) {
    std::optional<Response> r;
    std::string why;
    try {
      r = attempt();
      if (!retryable_status(r->status) || i >= policy.attempts) return *r;
      why = r->url.substr(0, r->url.find('?')) + ": HTTP " + std::to_string(r->status);  // no session tokens
    } catch (const NetworkError& e) {
      if (i >= policy.attempts) throw;
      why = e.what();
    }
    milliseconds wait = jittered(delay);
    if (r)
      if (auto ra = retry_after(*r)) wait = std::min(*ra, policy.max_delay);
    log::info("retrying in " + seconds_text(wait) + " (try " + std::to_string(i + 1) + " of " +
              std::to_string(policy.attempts) + "): " + why);
    sleep(wait);
    delay = std::min(delay * 2, policy.max_delay);
  }
}

Response get(Transport& t, const std::string& url, uint64_t max_bytes, const RetryPolicy& policy) {
  Request req;
  req.url = url;
  req.max_bytes = max_bytes;
  Response r = with_retry([&] { return t.send(req); }, policy);
  expect_ok(req, r);
  return r;
}

Response get_to_file(Transport& t, const std::string& url, const std::filesystem::path& file,
                     uint64_t max_bytes, const RetryPolicy& policy) {
  Request req;
  req.url = url;
  req.max_bytes = max_bytes;
  Response r = with_retry(
      [&] {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        if (!out) throw RuntimeError(errno_text("cannot create", file.string()));
        Response resp = t.send(req, [&](std::string_view bytes) {
          out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
          if (!out) throw RuntimeError(errno_text("cannot write", file.string()));
        });
        out.close();
        if (!out) throw RuntimeError(errno_text("cannot write", file.string()));
        return resp;
      },
      policy);
  expect_ok(req, r);
  return r;
}

}  // namespace ksimg::http
