// The libcurl implementation of http::Transport (transport.hpp). Redirects (RFC 9110 §15.4)
// are followed here rather than by libcurl, so that credentials are provably dropped when a
// redirect leaves the request's origin (RFC 6454: scheme, host, port). One easy handle per
// transport keeps libcurl's connection cache, so requests to the same host reuse connections.
// Request bodies (PUT/POST/PATCH) stream through CURLOPT_READFUNCTION from memory or from a
// file range read with pread, so a 600 MB blob is never held in memory.
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <exception>
#include <mutex>

#include "http/transport.hpp"

namespace ksimg::http {

namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool is_credential(const std::string& name) {
  auto n = lower(name);
  return n == "authorization" || n == "proxy-authorization" || n == "cookie";
}

// The request body being sent: a memory buffer or an open file range, and the position.
struct Upload {
  const Body* body = nullptr;
  int fd = -1;
  uint64_t pos = 0;
  std::string error;  // a read failure (the transfer is aborted)

  Upload() = default;
  explicit Upload(const Body* b) : body(b) {
    if (!b || b->file.empty()) return;
    fd = ::open(b->file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw RuntimeError(errno_text("cannot open", b->file.string()));
  }
  ~Upload() {
    if (fd >= 0) ::close(fd);
  }
  Upload(const Upload&) = delete;
  Upload& operator=(const Upload&) = delete;
};

// State shared with libcurl's callbacks for one transfer.
struct Transfer {
  const Request* req;
  const Sink* sink;
  Response* resp;
  Upload* up;
  std::exception_ptr error;
  bool too_big = false;
  bool cut_short = false;  // an error body longer than we keep: the status is the answer
};

size_t on_read(char* buf, size_t size, size_t n, void* ud) {
  auto* u = static_cast<Transfer*>(ud)->up;
  uint64_t left = u->body->size() - std::min(u->pos, u->body->size());
  size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * n));
  if (want == 0) return 0;
  if (u->fd < 0) {
    std::copy_n(u->body->data.data() + u->pos, want, buf);
  } else {
    ssize_t got = ::pread(u->fd, buf, want, static_cast<off_t>(u->body->offset + u->pos));
    if (got <= 0) {
      u->error = got < 0 ? errno_text("cannot read", u->body->file.string())
                         : u->body->file.string() + " is shorter than the body being sent";
      return CURL_READFUNC_ABORT;
    }
    want = static_cast<size_t>(got);
  }
  u->pos += want;
  return want;
}

int on_seek(void* ud, curl_off_t offset, int origin) {
  auto* u = static_cast<Transfer*>(ud)->up;
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > u->body->size())
    return CURL_SEEKFUNC_CANTSEEK;
  u->pos = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int on_progress(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(ud);
  if (t->req->upload_progress && ulnow > 0) t->req->upload_progress(static_cast<uint64_t>(ulnow));
  return 0;
}

size_t on_header(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (1xx, redirect hop, final)
    t->resp->headers.clear();
    auto sp = line.find(' ');
    auto sp2 = sp == std::string_view::npos ? sp : line.find(' ', sp + 1);
    t->resp->status =
        sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    t->resp->reason = sp2 == std::string_view::npos ? "" : trim(line.substr(sp2 + 1));
    t->resp->body.clear();
    t->resp->body_bytes = 0;
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    t->resp->headers.emplace_back(lower(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

// Error and redirect bodies keep their first kErrorBodyCap bytes (for messages) and are then
// cut short; a 2xx body goes to the sink or into Response::body, up to max_bytes.
size_t on_body(char* p, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  Response& r = *t->resp;  // r.status was set by on_header from the status line
  try {
    if (r.status < 200 || r.status >= 300) {
      size_t room = kErrorBodyCap - std::min(kErrorBodyCap, r.body.size());
      r.body.append(p, std::min(len, room));
      t->cut_short = len > room;
      return t->cut_short ? 0 : len;
    }
    r.body_bytes += len;
    if (r.body_bytes > t->req->max_bytes) {
      t->too_big = true;
      return 0;
    }
    if (*t->sink)
      (*t->sink)(std::string_view(p, len));
    else
      r.body.append(p, len);
  } catch (...) {
    t->error = std::current_exception();
    return 0;
  }
  return len;
}

bool retryable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistFree>;

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(Options o) : o_(std::move(o)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    h_ = curl_easy_init();
    if (!h_) throw RuntimeError("libcurl: cannot create a handle");
  }
  ~CurlTransport() override { curl_easy_cleanup(h_); }
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Response send(const Request& req, const Sink& sink) override;

 private:
  Response once(const Request& req, const Sink& sink);
  Slist configure(const Request& req, Transfer& t, char* errbuf);
  void configure_method(const Request& req, Transfer& t);
  [[noreturn]] void fail(const Request& req, CURLcode rc, const char* errbuf, const Transfer& t);

  Options o_;
  CURL* h_ = nullptr;
  std::mutex mu_;
};

bool has_header(const Headers& h, const std::string& name) {
  return std::any_of(h.begin(), h.end(), [&](const auto& kv) { return lower(kv.first) == name; });
}

// Method and body: HEAD has no body; PUT/POST/PATCH always send one (maybe empty) with
// Content-Length, read through on_read; other methods are sent as custom requests.
void CurlTransport::configure_method(const Request& req, Transfer& t) {
  if (req.method == "HEAD") {
    curl_easy_setopt(h_, CURLOPT_NOBODY, 1L);
    return;
  }
  if (req.method == "GET") return;
  bool with_body = req.method == "PUT" || req.method == "POST" || req.method == "PATCH";
  if (with_body) {
    curl_easy_setopt(h_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body ? req.body->size() : 0));
    curl_easy_setopt(h_, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(h_, CURLOPT_READDATA, &t);
    curl_easy_setopt(h_, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(h_, CURLOPT_SEEKDATA, &t);
    curl_easy_setopt(h_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h_, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h_, CURLOPT_XFERINFODATA, &t);
  }
  if (req.method != "PUT") curl_easy_setopt(h_, CURLOPT_CUSTOMREQUEST, req.method.c_str());
}

Slist CurlTransport::configure(const Request& req, Transfer& t, char* errbuf) {
  curl_easy_reset(h_);  // keeps the connection cache
  curl_slist* raw = nullptr;
  Headers extra = req.headers;
  if (req.body && !has_header(extra, "content-type"))
    extra.emplace_back("Content-Type", req.body->content_type);
  extra.emplace_back("Expect", "");  // no 100-continue wait before blob bodies
  for (const auto& [k, v] : extra) {
    std::string line = v.empty() ? k + ":" : k + ": " + v;  // "Name:" removes a curl default
    curl_slist* next = curl_slist_append(raw, line.c_str());
    if (!next) {
      curl_slist_free_all(raw);
      throw RuntimeError("libcurl: out of memory building request headers");
    }
    raw = next;
  }
  Slist hdrs(raw);
  curl_easy_setopt(h_, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h_, CURLOPT_HTTPHEADER, hdrs.get());
  configure_method(req, t);
  curl_easy_setopt(h_, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h_, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h_, CURLOPT_SSL_VERIFYPEER, o_.tls_verify ? 1L : 0L);
  curl_easy_setopt(h_, CURLOPT_SSL_VERIFYHOST, o_.tls_verify ? 2L : 0L);
  if (o_.ca_file) curl_easy_setopt(h_, CURLOPT_CAINFO, o_.ca_file->c_str());
  curl_easy_setopt(h_, CURLOPT_CONNECTTIMEOUT, static_cast<long>(o_.connect_timeout.count()));
  curl_easy_setopt(h_, CURLOPT_LOW_SPEED_LIMIT, o_.low_speed_limit);
  curl_easy_setopt(h_, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o_.low_speed_time.count()));
  curl_easy_setopt(h_, CURLOPT_USERAGENT, o_.user_agent.c_str());
  curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h_, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h_, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h_, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h_, CURLOPT_WRITEDATA, &t);
  return hdrs;
}

void CurlTransport::fail(const Request& req, CURLcode rc, const char* errbuf, const Transfer& t) {
  if (t.error) std::rethrow_exception(t.error);
  std::string what = req.method + " " + req.url + ": ";
  if (t.up && !t.up->error.empty()) throw RuntimeError(what + t.up->error);
  if (t.too_big)
    throw TooLargeError(what + "the response is larger than the " + std::to_string(req.max_bytes) +
                        "-byte limit; is this the right URL?");
  std::string detail = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
  std::string msg = what + detail + " (curl error " + std::to_string(static_cast<int>(rc)) + ")";
  if (retryable(rc)) throw NetworkError(msg);
  throw RuntimeError(msg);
}

Response CurlTransport::once(const Request& req, const Sink& sink) {
  Response resp;
  Upload up(req.body ? &*req.body : nullptr);
  static const Body empty;
  if (!up.body) up.body = &empty;
  Transfer t{&req, &sink, &resp, &up, nullptr, false, false};
  char errbuf[CURL_ERROR_SIZE] = {0};
  Slist hdrs = configure(req, t, errbuf);
  CURLcode rc = curl_easy_perform(h_);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.cut_short)) fail(req, rc, errbuf, t);
  curl_easy_getinfo(h_, CURLINFO_RESPONSE_CODE, &resp.status);
  resp.url = req.url;
  return resp;
}

Response CurlTransport::send(const Request& req, const Sink& sink) {
  std::lock_guard lk(mu_);
  Request cur = req;
  for (int hop = 0;; ++hop) {
    Response r = once(cur, sink);
    char* loc = nullptr;
    if (!is_redirect(r.status) || curl_easy_getinfo(h_, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
      return r;
    std::string next = loc;
    if (hop >= o_.max_redirects)
      throw RuntimeError(req.method + " " + req.url + ": more than " + std::to_string(o_.max_redirects) +
                         " redirects (last to " + next + ")");
    std::string l = lower(next.substr(0, 8));
    if (l.rfind("http://", 0) != 0 && l.rfind("https://", 0) != 0)
      throw RuntimeError(req.method + " " + cur.url + ": redirected to a non-HTTP URL " + next);
    if (origin(next) != origin(cur.url))
      std::erase_if(cur.headers, [](const auto& h) { return is_credential(h.first); });
    if (r.status == 303 || ((r.status == 301 || r.status == 302) && cur.method == "POST")) {
      cur.method = "GET";  // RFC 9110 §15.4.4 (303) and the common practice for 301/302 after POST
      cur.body.reset();
    }
    cur.url = next;
  }
}

}  // namespace

std::optional<std::string> Response::header(std::string_view name) const {
  std::string n = lower(std::string(name));
  for (const auto& [k, v] : headers)
    if (lower(k) == n) return v;
  return std::nullopt;
}

Body Body::bytes(std::string data, std::string content_type) {
  Body b;
  b.data = std::move(data);
  b.content_type = std::move(content_type);
  return b;
}

Body Body::file_range(std::filesystem::path file, uint64_t offset, uint64_t length) {
  Body b;
  b.file = std::move(file);
  b.offset = offset;
  b.length = length;
  return b;
}

std::string resolve_url(const std::string& base, const std::string& ref) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char* out = nullptr;
  bool ok = u && curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) == CURLUE_OK &&
            curl_url_set(u.get(), CURLUPART_URL, ref.c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_URL, &out, 0) == CURLUE_OK;
  std::string s = ok && out ? out : "";
  curl_free(out);
  if (!ok) throw UsageError("cannot resolve '" + ref + "' against '" + base + "'");
  return s;
}

std::string origin(const std::string& url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  char *scheme = nullptr, *host = nullptr, *port = nullptr;
  bool ok = u && curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
  std::string out = ok ? lower(scheme) + "://" + lower(host) + ":" + port : "";
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  if (!ok || (out.rfind("http://", 0) != 0 && out.rfind("https://", 0) != 0))
    throw UsageError("'" + url + "' is not an http:// or https:// URL");
  return out;
}

std::unique_ptr<Transport> make_transport(const Options& opts) {
  return std::make_unique<CurlTransport>(opts);
}

}  // namespace ksimg::http
