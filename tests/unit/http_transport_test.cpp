// Unit tests for src/http against an in-process cpp-httplib server on 127.0.0.1 (ephemeral
// ports): bodies, headers, HEAD, sinks, limits, redirects and where credentials may go,
// connection reuse, transport errors, and the retry helper.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "http/fetch.hpp"
#include "http/transport.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;

namespace {

// A cpp-httplib server on 127.0.0.1 at an ephemeral port, stopped at scope exit.
struct TestServer {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  void start() {
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  ~TestServer() {
    svr.stop();
    if (th.joinable()) th.join();
  }
};

std::string auth_of(const httplib::Request& req) {
  return req.has_header("Authorization") ? req.get_header_value("Authorization") : "none";
}

}  // namespace

TEST_CASE("http: GET into memory, headers, status, HEAD") {
  TestServer s;
  s.svr.Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("X-Test", "yes");
    res.set_content("hello world", "text/plain");
  });
  s.start();
  auto t = http::make_transport();
  http::Request req;
  req.url = s.url("/hello");
  auto r = t->send(req);
  CHECK(r.status == 200);
  CHECK(r.body == "hello world");
  CHECK(r.header("x-TEST") == "yes");
  CHECK(r.header("content-length") == "11");
  req.method = "HEAD";
  auto h = t->send(req);
  CHECK(h.status == 200);
  CHECK(h.body.empty());
  req.url = s.url("/missing");
  req.method = "GET";
  auto nf = t->send(req);
  CHECK(nf.status == 404);  // statuses are returned, not thrown
  CHECK_THROWS_WITH_AS(http::expect_ok(req, nf), doctest::Contains(("GET " + req.url + ": HTTP 404").c_str()),
                       http::StatusError);
}

TEST_CASE("http: sinks, byte limits, sink errors, files") {
  TestServer s;
  std::string big(1 << 20, 'z');
  s.svr.Get("/big", [&](const httplib::Request&, httplib::Response& res) { res.set_content(big, "x/y"); });
  s.svr.Get("/big404", [&](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(big, "text/html");
  });
  s.start();
  auto t = http::make_transport();
  http::Request req;
  req.url = s.url("/big");
  std::string got;
  auto r = t->send(req, [&](std::string_view b) { got.append(b); });
  CHECK(r.body.empty());
  CHECK(got == big);
  CHECK(r.body_bytes == big.size());
  req.max_bytes = 1000;
  CHECK_THROWS_WITH_AS(t->send(req), doctest::Contains("1000-byte limit"), http::TooLargeError);
  req.max_bytes = 2 << 20;
  CHECK_THROWS_WITH_AS(t->send(req, [](std::string_view) { throw RuntimeError("disk full"); }), "disk full",
                       RuntimeError);
  req.max_bytes = 10;  // an error body is cut short, never "too large": the status is the answer
  req.url = s.url("/big404");
  auto e = t->send(req);
  CHECK(e.status == 404);
  CHECK(e.body.size() == 64 * 1024);
  req.url = s.url("/big");
  TempDir dir("ksimg-http");
  http::get_to_file(*t, req.url, dir / "f", 2 << 20);
  CHECK(files::read(dir / "f") == big);
}

TEST_CASE("http: redirects keep credentials on the same origin only") {
  TestServer other;
  other.svr.Get("/landing", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("other:" + auth_of(req), "text/plain");
  });
  other.start();
  TestServer s;
  s.svr.Get("/same",
            [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/landing", 307); });
  s.svr.Get("/landing", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("same:" + auth_of(req), "text/plain");
  });
  s.svr.Get("/away", [&](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(other.url("/landing"), 302);
  });
  s.svr.Get("/loop", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop", 301); });
  s.start();
  auto t = http::make_transport();
  http::Request req;
  req.headers = {{"Authorization", "Bearer secret"}};
  req.url = s.url("/same");
  auto same = t->send(req);
  CHECK(same.body == "same:Bearer secret");
  CHECK(same.url == s.url("/landing"));
  req.url = s.url("/away");
  CHECK(t->send(req).body == "other:none");  // another port is another origin
  req.url = s.url("/loop");
  CHECK_THROWS_WITH_AS(t->send(req), doctest::Contains("redirects"), RuntimeError);
  CHECK(http::origin("HTTP://Example.TEST/x") == "http://example.test:80");
  CHECK(http::origin("https://example.test:8443/") == "https://example.test:8443");
  CHECK_THROWS_AS(http::origin("ftp://example.test/"), UsageError);
}

TEST_CASE("http: one transport reuses its connection") {
  TestServer s;
  std::atomic<int> first_port{0};
  std::atomic<int> same{0};
  s.svr.Get("/p", [&](const httplib::Request& req, httplib::Response& res) {
    int expected = 0;
    if (!first_port.compare_exchange_strong(expected, req.remote_port) && req.remote_port == first_port)
      ++same;
    res.set_content("ok", "text/plain");
  });
  s.start();
  auto t = http::make_transport();
  http::Request req;
  req.url = s.url("/p");
  for (int i = 0; i < 3; ++i) CHECK(t->send(req).status == 200);
  CHECK(same == 2);
}

TEST_CASE("http: transport errors name the URL, retries back off on 5xx and network errors") {
  int dead_port;
  {
    TestServer s;
    s.start();
    dead_port = s.port;
  }
  auto t = http::make_transport();
  std::string dead = "http://127.0.0.1:" + std::to_string(dead_port) + "/x";
  std::vector<std::chrono::milliseconds> waits;
  http::RetryPolicy p;
  p.sleep = [&](std::chrono::milliseconds d) { waits.push_back(d); };
  CHECK_THROWS_WITH_AS(http::get(*t, dead, 100, p), doctest::Contains(dead.c_str()), http::NetworkError);
  REQUIRE(waits.size() == 3);
  CHECK(waits[0] >= std::chrono::milliseconds(250));
  CHECK(waits[2] <= std::chrono::milliseconds(2000));
  TestServer s;
  std::atomic<int> calls{0};
  s.svr.Get("/flaky", [&](const httplib::Request&, httplib::Response& res) {
    if (++calls < 3) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      return;
    }
    res.set_content("finally", "text/plain");
  });
  s.svr.Get("/gone", [&](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  s.start();
  waits.clear();
  CHECK(http::get(*t, s.url("/flaky"), 100, p).body == "finally");
  CHECK(waits ==
        std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(0), std::chrono::milliseconds(0)});
  waits.clear();
  CHECK_THROWS_AS(http::get(*t, s.url("/gone"), 100, p), http::StatusError);
  CHECK(waits.empty());  // 404 is final
  CHECK(http::retryable_status(429));
  CHECK(http::retryable_status(502));
  CHECK_FALSE(http::retryable_status(501));
  CHECK_FALSE(http::retryable_status(403));
}
