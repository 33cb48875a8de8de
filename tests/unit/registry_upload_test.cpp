// Unit tests for the upload plumbing of src/registry and src/http: chunk planning with
// OCI-Chunk-Min-Length, Content-Range, ?digest= on Location, relative and absolute Location
// resolution, the images lock (merge, schema, errors), and one blob pushed monolithically and
// in chunks to an in-process fake registry that answers with relative Locations.
#include <doctest/doctest.h>
#include <httplib.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "http/transport.hpp"
#include "oci/digest.hpp"
#include "registry/blob_push.hpp"
#include "registry/images_lock.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;

TEST_CASE("registry: chunk plans honour chunk size and OCI-Chunk-Min-Length") {
  auto p = registry::plan_chunks(10, 4, 0);
  REQUIRE(p.size() == 3);
  CHECK(p[0].content_range() == "0-3");
  CHECK(p[1].content_range() == "4-7");
  CHECK(p[2].content_range() == "8-9");
  auto m = registry::plan_chunks(10, 2, 6);  // min length wins over a smaller chunk size
  REQUIRE(m.size() == 2);
  CHECK(m[0].length == 6);
  CHECK(m[1].offset == 6);
  CHECK(m[1].length == 4);
  CHECK(registry::plan_chunks(0, 4, 0).empty());
  CHECK(registry::plan_chunks(4, 4, 0).size() == 1);
  CHECK(registry::plan_chunks(5, 0, 0).size() == 5);  // no size given: 1-byte chunks, never a 0 step
}

TEST_CASE("registry: ?digest= added to Location verbatim") {
  auto d = oci::sha256("x");
  CHECK(registry::with_digest("http://r/v2/a/blobs/uploads/u1", d) ==
        "http://r/v2/a/blobs/uploads/u1?digest=" + d.str());
  CHECK(registry::with_digest("http://r/up?_state=abc&x=1", d) ==
        "http://r/up?_state=abc&x=1&digest=" + d.str());
  CHECK(registry::with_digest("http://r/up?", d) == "http://r/up?digest=" + d.str());
}

TEST_CASE("http: Location resolution, relative and absolute") {
  std::string base = "http://127.0.0.1:5000/v2/ns/x/blobs/uploads/";
  CHECK(http::resolve_url(base, "/v2/ns/x/blobs/uploads/abc?_state=s") ==
        "http://127.0.0.1:5000/v2/ns/x/blobs/uploads/abc?_state=s");
  CHECK(http::resolve_url(base, "abc") == "http://127.0.0.1:5000/v2/ns/x/blobs/uploads/abc");
  CHECK(http::resolve_url(base, "https://cdn.example/u/1") == "https://cdn.example/u/1");
  CHECK(http::resolve_url("http://h/a/b?q=1", "../c") == "http://h/c");
}

TEST_CASE("registry: images lock merge, schema and errors") {
  TempDir tmp("ksimg-lock");
  auto path = tmp.path() / "images.lock.json";
  CHECK(registry::read_images_lock(path).empty());
  CHECK_FALSE(registry::find_pin(path, "k4-mipsel"));
  auto d1 = oci::sha256("one"), d2 = oci::sha256("two");
  registry::Pin a{"k4/mipsel", "127.0.0.1:5000/ns/kernelsmith:k4-mipsel@" + d1.str(), d1, 100, {}};
  registry::Pin b{"k6/arm64",
                  "127.0.0.1:5000/ns/kernelsmith:k6-arm64@" + d2.str(),
                  d2,
                  200,
                  {"gzip libdeflate-1.14 level-6 slice-1MiB"}};
  registry::update_images_lock(path, {{"k4-mipsel", a}});
  registry::update_images_lock(path, {{"k6-arm64", b}});
  auto pins = registry::read_images_lock(path);
  REQUIRE(pins.size() == 2);  // merged, not replaced
  CHECK(pins.begin()->first == "k4-mipsel");
  auto got = registry::find_pin(path, "k6-arm64");
  REQUIRE(got);
  CHECK(got->digest == d2);
  CHECK(got->size == 200);
  CHECK(got->cell == "k6/arm64");
  CHECK(got->compressors == std::vector<std::string>{"gzip libdeflate-1.14 level-6 slice-1MiB"});
  CHECK(registry::find_pin(path, "k4-mipsel")->compressors.empty());
  std::string text = files::read(path);
  CHECK(text.find("compressors") == text.rfind("compressors"));  // only where there are some
  CHECK(text.find("\"schema_version\": 1") != std::string::npos);
  CHECK(text.find("k4-mipsel") < text.find("k6-arm64"));
  a.size = 101;
  registry::update_images_lock(path, {{"k4-mipsel", a}});
  CHECK(registry::find_pin(path, "k4-mipsel")->size == 101);
  CHECK(registry::read_images_lock(path).size() == 2);

  files::write_atomic(path, R"({"schema_version":2,"images":{}})");
  CHECK_THROWS_WITH_AS(registry::read_images_lock(path), doctest::Contains("schema_version"), DataError);
  files::write_atomic(path, R"({"schema_version":1,"images":{"t":{"reference":"r.example/x:t@)" + d1.str() +
                                R"(","digest":")" + d2.str() + R"(","size":1}}})");
  CHECK_THROWS_WITH_AS(registry::read_images_lock(path), doctest::Contains("images.t"), DataError);
  files::write_atomic(path, R"({"schema_version":1,"images":{"t":{"reference":"r.example/x:t@)" + d1.str() +
                                R"(","digest":")" + d1.str() + R"(","size":1,"compressors":"gzip"}}})");
  CHECK_THROWS_WITH_AS(registry::read_images_lock(path), doctest::Contains("compressors"), DataError);
}

namespace {

// A tiny in-process registry for one blob upload: POST gives a relative Location, PATCH
// appends (checking Content-Range order), PUT ?digest= commits; HEAD answers from the store.
struct FakeRegistry {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  std::mutex mu;
  std::string upload, stored;
  std::vector<std::string> ranges;
  long min_chunk = 0;
  int puts = 0;

  void start() {
    svr.Get("/v2/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{}", "application/json");
    });
    svr.Get("/v2/.*/blobs/.*", [&](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lk(mu);
      res.status = stored.empty() ? 404 : 200;
    });
    svr.Post("/v2/.*/blobs/uploads/", [&](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lk(mu);
      upload.clear();
      res.status = 202;
      res.set_header("Location", "/v2/ns/x/blobs/uploads/session1?_state=abc");
      if (min_chunk) res.set_header("OCI-Chunk-Min-Length", std::to_string(min_chunk));
    });
    svr.Patch("/v2/ns/x/blobs/uploads/session1", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu);
      std::string range = req.get_header_value("Content-Range");
      ranges.push_back(range);
      if (range !=
          std::to_string(upload.size()) + "-" + std::to_string(upload.size() + req.body.size() - 1)) {
        res.status = 416;
        return;
      }
      upload += req.body;
      res.status = 202;
      res.set_header("Location", "session1?_state=next");  // relative to the request path
    });
    svr.Put("/v2/ns/x/blobs/uploads/session1", [&](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lk(mu);
      ++puts;
      upload += req.body;
      if (req.get_param_value("digest") != oci::sha256(upload).str()) {
        res.status = 400;
        return;
      }
      stored = upload;
      res.status = 201;
    });
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeRegistry() {
    svr.stop();
    if (th.joinable()) th.join();
  }
};

}  // namespace

TEST_CASE("registry: blob push monolithic and chunked, relative Locations, HEAD skips") {
  TempDir tmp("ksimg-push");
  std::string data(10000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  auto file = tmp.path() / "blob";
  files::write_atomic(file, data);
  oci::Descriptor desc{
      "application/octet-stream", oci::sha256(data), static_cast<int64_t>(data.size()), {}, {}};

  FakeRegistry f;
  f.min_chunk = 3000;
  f.start();
  registry::RegistryOptions o;
  o.registry = "127.0.0.1:" + std::to_string(f.port);
  o.retry.sleep = [](std::chrono::milliseconds) {};
  registry::Registry reg(o);
  reg.ping();  // falls back to plain http on loopback
  CHECK(reg.base_url() == "http://" + o.registry);
  auto s = reg.session();

  uint64_t last = 0;
  auto r = registry::push_blob(*s, "ns/x", desc, file, {1000, {}}, [&](uint64_t n) { last = n; });
  CHECK(r.action == registry::BlobAction::uploaded);
  CHECK(f.stored == data);
  CHECK(last == data.size());
  REQUIRE(f.ranges.size() == 4);  // 3000-byte chunks (the registry's minimum beats --chunk-size 1000)
  CHECK(f.ranges[0] == "0-2999");
  CHECK(f.ranges[3] == "9000-9999");

  auto again = registry::push_blob(*s, "ns/x", desc, file, {}, {});
  CHECK(again.action == registry::BlobAction::skipped);
  CHECK(f.puts == 1);

  f.stored.clear();
  f.ranges.clear();
  auto mono = registry::push_blob(*s, "ns/x", desc, file, {}, {});
  CHECK(mono.action == registry::BlobAction::uploaded);
  CHECK(f.ranges.empty());  // one PUT with the whole body
  CHECK(f.stored == data);
}
