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

// A request body: bytes in memory, or a byte range of a file streamed from disk (never loaded
// whole), so a failed request can be sent again from the same source.
struct Body {
  std::string data;            // used when `file` is empty
  std::filesystem::path file;  // stream [offset, offset + length) of this file
  uint64_t offset = 0;
  uint64_t length = 0;
  std::string content_type = "application/octet-stream";

  static Body bytes(std::string data, std::string content_type = "application/octet-stream");
  static Body file_range(std::filesystem::path file, uint64_t offset, uint64_t length);
  uint64_t size() const { return file.empty() ? data.size() : length; }
};

// Called with the number of body bytes sent so far (upload progress). Must not throw.
using ProgressFn = std::function<void(uint64_t sent)>;

struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH or DELETE
  std::string url;             // http:// or https://
  // Sent as given. Credentials (Authorization, Proxy-Authorization, Cookie) are sent only to
  // the request's origin: a redirect to another scheme, host or port drops them.
  Headers headers;
  uint64_t max_bytes = uint64_t{64} << 20;  // body limit; a larger body is an error
  // PUT/POST/PATCH: sent with Content-Length (and Content-Type); absent means an empty body.
  std::optional<Body> body;
  ProgressFn upload_progress;  // optional
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
  // Extra CA bundle (tests, private registries).
  std::optional<std::filesystem::path> ca_file;
  // TLS peer and host verification. Turn off only when the user asks for one registry
  // (--tls-verify=false); the caller warns the user.
  bool tls_verify = true;
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
// verification on unless opts.tls_verify is false; connect and low-speed timeouts from `opts`. Not
// thread-safe: give each thread its own.
std::unique_ptr<Transport> make_transport(const Options& opts = {});

// `ref` (a Location header: absolute URL, absolute path or relative path) resolved against
// the absolute URL `base` (RFC 3986 §5.2); throws UsageError when either cannot be parsed.
std::string resolve_url(const std::string& base, const std::string& ref);

// "scheme://host:port" of an absolute http(s) URL, lower-cased, default port filled in;
// throws UsageError for a URL that is not one.
std::string origin(const std::string& url);

}  // namespace ksimg::http
