// Unit tests for src/layers/cache: the sha256-addressed download cache against an
// in-process cpp-httplib server on 127.0.0.1 (ephemeral port) that counts requests: miss
// then hit, wrong sha256 (nothing stored), fallback past 404 and unreachable URLs, every URL
// failing, damaged entries, two fetchers of one digest, how the cache root is chosen, and a
// source mirror tried first (its wrong bytes refused).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "layers/cache.hpp"
#include "layers_fixture.hpp"
#include "oci/digest.hpp"
#include "util/error.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;
using namespace layers_test;

namespace {

struct Server {
  httplib::Server svr;
  std::thread th;
  int port = 0;
  std::atomic<int> hits{0};
  std::string body = "toolchain tarball bytes\n";

  Server() {
    svr.Get("/good/sdk.tar.xz", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      res.set_content(body, "application/octet-stream");
    });
    svr.Get("/bad/sdk.tar.xz", [this](const httplib::Request&, httplib::Response& res) {
      ++hits;
      res.set_content("other bytes\n", "application/octet-stream");
    });
    port = svr.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    th = std::thread([this] { svr.listen_after_bind(); });
    while (!svr.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Server() {
    svr.stop();
    th.join();
  }
  std::string url(const std::string& p) const { return "http://127.0.0.1:" + std::to_string(port) + p; }
  std::string sha() const { return oci::sha256(body).hex(); }
};

layers::DownloadCache make_cache(const fs::path& root) {
  layers::DownloadCache c(root);
  c.retry.attempts = 2;
  c.retry.first_delay = std::chrono::milliseconds(1);
  return c;
}

size_t files_in(const fs::path& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A port nothing listens on: bind one without listening, note it, close it.
std::string unreachable_url() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/sdk.tar.xz";
}

}  // namespace

TEST_CASE("cache: a miss downloads and stores by sha256, a hit downloads nothing") {
  Server s;
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  auto tr = http::make_transport();
  auto a = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size());
  CHECK_FALSE(a.hit);
  CHECK(a.url == s.url("/good/sdk.tar.xz"));
  CHECK(a.file == t / "c" / "sha256" / s.sha());
  CHECK(read_file(a.file) == s.body);
  auto b = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha());
  CHECK(b.hit);
  CHECK(b.file == a.file);
  CHECK(s.hits == 1);
  CHECK(files_in(t / "c" / "tmp") == 0);
  CHECK(cache.lookup(s.sha(), s.body.size()).has_value());
}

TEST_CASE("cache: a wrong sha256 is an integrity error and stores nothing") {
  Server s;
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  auto tr = http::make_transport();
  std::string want = oci::sha256("what the pin expects").hex();
  std::string url = s.url("/good/sdk.tar.xz");
  CHECK_THROWS_WITH_AS(
      cache.fetch(*tr, {url}, want),
      doctest::Contains((url + ": sha256 mismatch: expected " + want + ", got " + s.sha()).c_str()),
      IntegrityError);
  CHECK(files_in(t / "c" / "sha256") == 0);
  CHECK(files_in(t / "c" / "tmp") == 0);
  // A size that disagrees with the pin is refused the same way.
  CHECK_THROWS_AS(cache.fetch(*tr, {url}, s.sha(), s.body.size() + 1), IntegrityError);
  CHECK(files_in(t / "c" / "sha256") == 0);
}

TEST_CASE("cache: falls back past a 404, an unreachable host and a corrupt mirror to a good URL") {
  Server s;
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  auto tr = http::make_transport();
  auto got = cache.fetch(
      *tr,
      {s.url("/missing/sdk.tar.xz"), unreachable_url(), s.url("/bad/sdk.tar.xz"), s.url("/good/sdk.tar.xz")},
      s.sha());
  CHECK_FALSE(got.hit);
  CHECK(got.url == s.url("/good/sdk.tar.xz"));
  CHECK(read_file(got.file) == s.body);
}

TEST_CASE("cache: when every URL fails the error lists each URL and why") {
  Server s;
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  auto tr = http::make_transport();
  std::string gone = s.url("/missing/sdk.tar.xz"), down = unreachable_url();
  try {
    cache.fetch(*tr, {gone, down}, s.sha());
    FAIL("fetch succeeded");
  } catch (const IntegrityError&) {
    FAIL("a network failure must not be an integrity error");
  } catch (const RuntimeError& e) {
    std::string m = e.what();
    CHECK(m.find(gone + ": HTTP 404") != std::string::npos);
    CHECK(m.find(down) != std::string::npos);
    CHECK(m.find("2 URL(s)") != std::string::npos);
  }
  CHECK(files_in(t / "c" / "sha256") == 0);
}

TEST_CASE("cache: a damaged entry is dropped and downloaded again") {
  Server s;
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  auto tr = http::make_transport();
  auto a = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size());
  write_file(a.file, std::string(s.body.size(), 'x'));                               // same size, other bytes
  CHECK(cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size()).hit);  // trusted by size
  auto b = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size(), true);  // verify re-hashes
  CHECK_FALSE(b.hit);
  CHECK(read_file(b.file) == s.body);
  write_file(a.file, "short");
  CHECK_FALSE(cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size()).hit);
  CHECK(s.hits == 3);
}

TEST_CASE("cache: two fetchers of one digest download it once") {
  Server s;
  TempDir t("cache");
  std::atomic<int> hits_seen{0};
  auto fetch = [&] {
    auto cache = make_cache(t / "c");
    auto tr = http::make_transport();
    auto r = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha(), s.body.size());
    if (read_file(r.file) == s.body) ++hits_seen;
  };
  std::thread a(fetch), b(fetch);
  a.join();
  b.join();
  CHECK(hits_seen == 2);
  CHECK(s.hits == 1);
}

TEST_CASE("cache: the root comes from the flag, KSIMG_CACHE, XDG_CACHE_HOME, then HOME") {
  auto saved = [](const char* n) {
    return std::getenv(n) ? std::optional<std::string>(std::getenv(n)) : std::nullopt;
  };
  auto ks = saved("KSIMG_CACHE"), xdg = saved("XDG_CACHE_HOME"), home = saved("HOME");
  ::setenv("KSIMG_CACHE", "/k", 1);
  ::setenv("XDG_CACHE_HOME", "/x", 1);
  ::setenv("HOME", "/h", 1);
  CHECK(layers::default_cache_root("/flag") == "/flag");
  CHECK(layers::default_cache_root() == "/k");
  ::unsetenv("KSIMG_CACHE");
  CHECK(layers::default_cache_root() == "/x/ksimg");
  ::setenv("XDG_CACHE_HOME", "relative", 1);  // not absolute: ignored, as the XDG spec says
  CHECK(layers::default_cache_root() == "/h/.cache/ksimg");
  ::unsetenv("XDG_CACHE_HOME");
  ::unsetenv("HOME");
  CHECK_THROWS_AS(layers::default_cache_root(), UsageError);
  auto restore = [](const char* n, const std::optional<std::string>& v) {
    if (v)
      ::setenv(n, v->c_str(), 1);
    else
      ::unsetenv(n);
  };
  restore("KSIMG_CACHE", ks);
  restore("XDG_CACHE_HOME", xdg);
  restore("HOME", home);
}

namespace {

// A source mirror that serves fixed bytes for any pin, and counts its calls.
struct FakeMirror : layers::SourceMirror {
  std::string bytes;
  bool has = true;
  int calls = 0;
  std::string name() const override { return "fake.test/sources"; }
  bool fetch(const layers::SourcePin&, const fs::path& dest) override {
    ++calls;
    if (!has) return false;
    std::ofstream(dest, std::ios::binary) << bytes;
    return true;
  }
};

}  // namespace

TEST_CASE("cache: the source mirror first, wrong bytes from it refused, the URLs used") {
  Server s;
  auto tr = http::make_transport();
  TempDir t("cache");
  auto cache = make_cache(t / "c");
  FakeMirror m;
  m.bytes = s.body;
  cache.mirror = &m;
  auto f = cache.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha());
  CHECK(m.calls == 1);
  CHECK(s.hits == 0);  // the mirror had it: upstream untouched
  CHECK(f.url == "fake.test/sources");
  CHECK(read_file(f.file) == s.body);
  auto cache2 = make_cache(t / "c2");
  m.bytes = "tampered\n";
  cache2.mirror = &m;
  auto g = cache2.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha());
  CHECK(s.hits == 1);  // refused the mirror's bytes, fetched upstream
  CHECK(read_file(g.file) == s.body);
  auto cache3 = make_cache(t / "c3");
  m.has = false;
  cache3.mirror = &m;
  CHECK(cache3.fetch(*tr, {s.url("/good/sdk.tar.xz")}, s.sha()).url == s.url("/good/sdk.tar.xz"));
  CHECK_THROWS_AS(cache3.fetch(*tr, {}, oci::sha256("absent").hex()), RuntimeError);
}
