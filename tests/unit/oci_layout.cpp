// The OCI image layout (image-spec image-layout.md): blobs are never rewritten, a blob whose
// bytes do not match its name is an IntegrityError, and index.json updates from several
// threads or processes at once keep every tag (file lock + atomic rename).
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "oci/layout.hpp"
#include "oci_fixture.hpp"
#include "util/error.hpp"

using namespace ksimg;
namespace fs = std::filesystem;

namespace {

oci::Descriptor some_manifest(const oci::Layout& l, const std::string& seed) {
  return l.put_blob("{\"seed\":\"" + seed + "\"}", oci::media::manifest);
}

}  // namespace

TEST_CASE("oci layout: create writes oci-layout, an empty index and blobs/sha256") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  CHECK(oci_test::read_file(t / "L/oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  auto index = l.read_index();
  CHECK(index["schemaVersion"] == 2);
  CHECK(index["mediaType"] == "application/vnd.oci.image.index.v1+json");
  CHECK(index["manifests"].empty());
  CHECK(fs::is_directory(t / "L/blobs/sha256"));
  CHECK_NOTHROW(oci::Layout::create(t / "L"));  // idempotent
}

TEST_CASE("oci layout: a directory with other files is not taken for a layout") {
  oci_test::TempDir t;
  oci_test::write_file(t / "home/notes.txt", "mine");
  CHECK_THROWS_AS(oci::Layout::create(t / "home"), UsageError);
  CHECK_FALSE(fs::exists(t / "home/blobs"));
  CHECK_THROWS_AS(oci::Layout::open(t / "home"), UsageError);
}

TEST_CASE("oci layout: an intact blob that is already present is not rewritten") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  auto d = l.put_blob("hello", oci::media::config);
  struct stat before {
  }, after{};
  ::stat(l.blob_path(d.digest).c_str(), &before);
  auto again = l.put_blob("hello", oci::media::config);
  ::stat(l.blob_path(d.digest).c_str(), &after);
  CHECK(again.digest == d.digest);
  CHECK(before.st_ino == after.st_ino);
  CHECK(fs::is_empty(l.temp_dir()));  // the temp copy was discarded
}

TEST_CASE("oci layout: a present blob with wrong bytes is an IntegrityError") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  auto d = l.put_blob("hello", oci::media::config);
  oci_test::write_file(l.blob_path(d.digest), "HELLO");  // same size, other bytes
  CHECK_THROWS_AS(l.put_blob("hello", oci::media::config), IntegrityError);
  CHECK_THROWS_AS(l.read_blob(d), IntegrityError);
  oci_test::write_file(l.blob_path(d.digest), "hello!");  // other size
  CHECK_THROWS_AS(l.has_blob(d.digest, 5), IntegrityError);
}

TEST_CASE("oci layout: re-tagging replaces the tag's entry, other tags stay") {
  oci_test::TempDir t;
  auto l = oci::Layout::create(t / "L");
  auto m1 = some_manifest(l, "1"), m2 = some_manifest(l, "2");
  l.set_tag("b", m1);
  l.set_tag("a", m1);
  l.set_tag("b", m2);
  CHECK(l.tags() == std::vector<std::string>{"a", "b"});
  CHECK(l.find_tag("b")->digest == m2.digest);
  CHECK(l.find_tag("a")->digest == m1.digest);
  CHECK(l.manifests().size() == 2);
  CHECK_THROWS_AS(l.set_tag("-bad", m1), UsageError);
  CHECK_THROWS_AS(l.set_tag(std::string(129, 'a'), m1), UsageError);
}

TEST_CASE("oci layout: concurrent tag updates from threads keep every tag") {
  oci_test::TempDir t;
  oci::Layout::create(t / "L");
  constexpr int kThreads = 4, kTags = 25;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      auto l = oci::Layout::open(t / "L");
      for (int k = 0; k < kTags; ++k)
        l.set_tag("t" + std::to_string(i) + "-" + std::to_string(k), some_manifest(l, "x"));
    });
  for (auto& th : threads) th.join();
  CHECK(oci::Layout::open(t / "L").tags().size() == kThreads * kTags);
}

TEST_CASE("oci layout: concurrent tag updates from two processes keep both tags") {
  oci_test::TempDir t;
  oci::Layout::create(t / "L");
  constexpr int kRounds = 30;
  std::vector<pid_t> kids;
  for (int p = 0; p < 2; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        auto l = oci::Layout::open(t / "L");
        for (int k = 0; k < kRounds; ++k)
          l.set_tag("p" + std::to_string(p) + "-" + std::to_string(k), some_manifest(l, std::to_string(p)));
        ::_exit(0);
      } catch (...) {
        ::_exit(1);
      }
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto tags = oci::Layout::open(t / "L").tags();
  CHECK(tags.size() == 2 * kRounds);
  CHECK(std::find(tags.begin(), tags.end(), "p0-0") != tags.end());
  CHECK(std::find(tags.begin(), tags.end(), "p1-0") != tags.end());
}

TEST_CASE("oci layout: creating one new layout from several threads at once succeeds everywhere") {
  for (int round = 0; round < 10; ++round) {
    oci_test::TempDir t;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
      threads.emplace_back([&, i] {
        try {
          auto l = oci::Layout::create(t / "new");
          l.set_tag("t" + std::to_string(i), some_manifest(l, std::to_string(i)));
          ++ok;
        } catch (const std::exception& e) {
          MESSAGE("thread " << i << ": " << std::string(e.what()));
        }
      });
    for (auto& th : threads) th.join();
    CHECK(ok == 4);
    CHECK(oci::Layout::open(t / "new").tags().size() == 4);
  }
}
