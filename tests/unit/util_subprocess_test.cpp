// Unit tests for util/subprocess: argv without a shell, captured stdout/stderr, exit status,
// stdin feeding without deadlock, environment and working directory, missing programs.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "util/error.hpp"
#include "util/subprocess.hpp"
#include "util/tempdir.hpp"

using namespace ksimg;

TEST_CASE("subprocess: output, status, no shell") {
  auto r = subprocess::run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  CHECK(r.status == 3);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK(subprocess::describe_failure({"/bin/sh"}, r) == "sh failed (exit status 3): err");
  auto lit = subprocess::run({"echo", "$HOME; rm -rf /"});  // arguments are never shell-expanded
  CHECK(lit.ok());
  CHECK(lit.out == "$HOME; rm -rf /\n");
  auto killed = subprocess::run({"sh", "-c", "kill -9 $$"});
  CHECK(killed.status == 128 + 9);
}

TEST_CASE("subprocess: large stdin and stdout at once do not deadlock") {
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = '\n';
  subprocess::Options o;
  o.input = big;
  auto r = subprocess::run({"cat"}, o);
  CHECK(r.ok());
  CHECK(r.out == big);
  o.input = big;
  auto early = subprocess::run({"head", "-c", "10"}, o);  // stops reading: no SIGPIPE for us
  CHECK(early.ok());
  CHECK(early.out.size() == 10);
}

TEST_CASE("subprocess: environment, working directory, output limit, missing program") {
  TempDir dir("ksimg-sub");
  subprocess::Options o;
  o.env["KSIMG_SUBPROCESS_TEST"] = "value";
  o.cwd = dir.path();
  auto r = subprocess::run({"sh", "-c", "printf '%s ' \"$KSIMG_SUBPROCESS_TEST\"; pwd"}, o);
  CHECK(r.out == "value " + dir.path().string() + "\n");
  subprocess::Options small;
  small.max_output = 100;
  CHECK_THROWS_AS(subprocess::run({"head", "-c", "1000", "/dev/zero"}, small), RuntimeError);
  CHECK_THROWS_WITH_AS(subprocess::run({"ksimg-no-such-program"}), doctest::Contains("ksimg-no-such-program"),
                       RuntimeError);
  CHECK(subprocess::find_program("sh"));
  CHECK_FALSE(subprocess::find_program("ksimg-no-such-program"));
}

TEST_CASE("subprocess: the child gets stdin, stdout and stderr only") {
  // Descriptors past 2 that the parent leaves open (no O_CLOEXEC) stay out of the child, so its
  // own ones start at 3 (mmdebstrap hands one to dash as `>&N`, which takes a single digit).
  std::vector<int> leaked;
  for (int i = 0; i < 12; ++i) leaked.push_back(::open("/dev/null", O_RDONLY));
  auto r = subprocess::run({"sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"});
  for (int fd : leaked) ::close(fd);
  CHECK(r.ok());
  CHECK(r.out == "0 1 2 3 ");  // 3: the directory ls reads
}
