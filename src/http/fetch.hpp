// Helpers on top of http::Transport: status checks with clear messages, downloads into memory
// or into a file, and a small retry loop (exponential backoff with jitter) for transient
// failures: network errors and HTTP 408, 429 and 5xx (RFC 9110 §15.5.9, RFC 6585 §4).
#pragma once
#include <chrono>
#include <filesystem>
#include <functional>

#include "http/transport.hpp"

namespace ksimg::http {

// Throws StatusError "GET <url>: HTTP 404 Not Found" unless the response is 2xx.
void expect_ok(const Request& req, const Response& resp);

// True for statuses worth another try: 408, 429 and 5xx except 501 and 505.
bool retryable_status(long status);

struct RetryPolicy {
  int attempts = 4;                                      // total tries, including the first
  std::chrono::milliseconds first_delay{500};            // doubled after each try...
  std::chrono::milliseconds max_delay{8000};             // ...up to this (also caps Retry-After)
  std::function<void(std::chrono::milliseconds)> sleep;  // default: std::this_thread::sleep_for
};

// Calls attempt() until it returns a response whose status is not retryable, or it has been
// called policy.attempts times; a NetworkError from it is retried the same way, other
// exceptions propagate at once. Returns the last response (whatever its status) or rethrows
// the last NetworkError. Waits are a random value in [d/2, d] for d = first_delay * 2^n,
// or the server's Retry-After (in seconds) when it sent one.
Response with_retry(const std::function<Response()>& attempt, const RetryPolicy& policy = {});

// GET into memory, with retries; throws StatusError unless 2xx.
Response get(Transport& t, const std::string& url, uint64_t max_bytes = uint64_t{64} << 20,
             const RetryPolicy& policy = {});

// GET into `file` (created or truncated for each try), with retries. Throws StatusError
// unless 2xx; a failed download may leave a partial file for the caller to remove.
Response get_to_file(Transport& t, const std::string& url, const std::filesystem::path& file,
                     uint64_t max_bytes, const RetryPolicy& policy = {});

}  // namespace ksimg::http
