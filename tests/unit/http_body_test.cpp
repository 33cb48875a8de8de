// Unit tests for request bodies in src/http: PUT/POST/PATCH from memory and from a file byte
// range (streamed), Content-Type and Content-Length, upload progress, DELETE, and a body
// re-sent after a 307 redirect.
#include <doctest/doctest.h>
#include <httplib.h>

#include <thread>

#include "http/transport.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;

namespace {

struct BodyServer {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  void start() {
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.method + " " + req.get_header_value("Content-Type") + " " +
                          req.get_header_value("Content-Length") + " " + req.body,
                      "text/plain");
    };
    svr.Put("/echo", echo);
    svr.Post("/echo", echo);
    svr.Patch("/echo", echo);
    svr.Delete("/echo", echo);
    svr.Put("/moved", [](const httplib::Request&, httplib::Response& res) {
      res.status = 307;
      res.set_header("Location", "/echo");
    });
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string url(const std::string& p) const { return "http://127.0.0.1:" + std::to_string(port) + p; }
  ~BodyServer() {
    svr.stop();
    if (th.joinable()) th.join();
  }
};

}  // namespace

TEST_CASE("http: request bodies from memory and file ranges, progress, redirects") {
  BodyServer s;
  s.start();
  TempDir tmp("ksimg-body");
  auto file = tmp.path() / "data";
  files::write_atomic(file, "0123456789abcdef");
  auto t = http::make_transport();

  http::Request req;
  req.method = "PUT";
  req.url = s.url("/echo");
  req.body = http::Body::bytes("hello", "application/json");
  CHECK(t->send(req).body == "PUT application/json 5 hello");

  req.method = "PATCH";
  req.body = http::Body::file_range(file, 4, 6);
  uint64_t progress = 0;
  req.upload_progress = [&](uint64_t n) { progress = n; };
  CHECK(t->send(req).body == "PATCH application/octet-stream 6 456789");
  CHECK(progress == 6);

  req.method = "POST";
  req.body.reset();
  req.upload_progress = nullptr;
  auto post = t->send(req).body;  // no body: Content-Length 0
  CHECK(post.rfind("POST ", 0) == 0);
  CHECK(post.size() >= 3);
  CHECK(post.substr(post.size() - 3) == " 0 ");

  req.method = "DELETE";
  CHECK(t->send(req).body.rfind("DELETE", 0) == 0);

  req.method = "PUT";
  req.url = s.url("/moved");
  req.body = http::Body::file_range(file, 10, 6);
  CHECK(t->send(req).body == "PUT application/octet-stream 6 abcdef");  // 307 keeps method and body

  req.url = s.url("/echo");
  req.body = http::Body::file_range(tmp.path() / "missing", 0, 1);
  CHECK_THROWS_AS(t->send(req), RuntimeError);
  req.body = http::Body::file_range(file, 10, 100);  // the file is shorter than the range
  CHECK_THROWS_WITH_AS(t->send(req), doctest::Contains("shorter"), RuntimeError);
}
