// The HTTP client interface the rest of ksimg uses (RFC 9110 semantics: methods, status codes,
// redirects). No libcurl type appears here; curl_transport.cpp implements it, and the
// helpers in fetch.hpp (status checks, downloads to files, retries) build on it.
#pragma once
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace ksimg::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method = "GET";  // GET or HEAD
  std::string url;             // http:// or https://
  // Sent as given. Credentials (Authorization, Proxy-Authorization, Cookie) are sent only to
  // the request's origin: a redirect to another scheme, host or port drops them.
  Headers headers;
  uint64_t max_bytes = uint64_t{64} << 20;  // body limit; a larger body is an error
};

struct Response {
  long status = 0;
  std::string reason;       // reason phrase when the server sent one ("Not Found")
  std::string url;          // the final URL, after redirects
  Headers headers;          // of the final response; names lower-cased, in order
  std::string body;         // 2xx: the body unless a sink took it; otherwise the start of the error body
  uint64_t body_bytes = 0;  // 2xx body bytes received (into `body` or the sink)

  bool ok() const { return status >= 200 && status < 300; }
  // The first header of that name (case-insensitive), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

// Receives a 2xx body as it arrives. Throwing aborts the transfer; the exception propagates.
using Sink = std::function<void(std::string_view)>;

struct Options {
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds low_speed_time{60};  // abort a transfer slower than low_speed_limit this long
  long low_speed_limit = 1;                 // bytes per second
  int max_redirects = 10;
  std::string user_agent = "ksimg/0.1";
  // Extra CA bundle (tests, private registries). TLS peer and host verification stay on.
  std::optional<std::filesystem::path> ca_file;
};

// A transport failure worth retrying: DNS, connect, reset, timeout, TLS handshake.
struct NetworkError : RuntimeError {
  using RuntimeError::RuntimeError;
};

// A body over Request::max_bytes (the message names the URL and the limit).
struct TooLargeError : RuntimeError {
  using RuntimeError::RuntimeError;
};

// An HTTP status the caller did not accept (see fetch.hpp's expect_ok).
struct StatusError : RuntimeError {
  StatusError(const std::string& msg, long status) : RuntimeError(msg), status(status) {}
  long status;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and follows redirects (301, 302, 303, 307, 308). A 2xx body goes to
  // `sink` when given, else into Response::body. HTTP error statuses are returned, not thrown.
  // Throws NetworkError for transport failures, TooLargeError for a body over max_bytes, and
  // RuntimeError for too many redirects or a non-HTTP redirect; messages name the method,
  // the URL and the cause.
  virtual Response send(const Request& req, const Sink& sink = {}) = 0;
};

// The libcurl transport: one handle, so connections are reused across requests; TLS
// verification always on; connect and low-speed timeouts from `opts`. Not thread-safe:
// give each thread its own.
std::unique_ptr<Transport> make_transport(const Options& opts = {});

// "scheme://host:port" of an absolute http(s) URL, lower-cased, default port filled in;
// throws UsageError for a URL that is not one.
std::string origin(const std::string& url);

}  // namespace ksimg::http
