// doctest entry point for the unit test binary. ctest runs one test case per process
// (--test-case=NAME); a filter that matches no test case would otherwise "pass" without
// checking anything, so such a run fails here.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <iostream>

namespace {

std::atomic<int> g_started{0};

// Counts the test cases that actually start.
struct StartCounter : doctest::IReporter {
  explicit StartCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override { ++g_started; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("start-counter", 1, StartCounter);

int main(int argc, char** argv) {
  doctest::Context ctx(argc, argv);
  int rc = ctx.run();
  if (ctx.shouldExit()) return rc;
  bool filtered = false, listing = false;
  for (int i = 1; i < argc; ++i) {
    filtered =
        filtered || std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
    listing = listing || std::strncmp(argv[i], "--list", 6) == 0 || std::strncmp(argv[i], "-l", 2) == 0;
  }
  if (rc == 0 && filtered && !listing && g_started == 0) {
    std::cerr << "ksimg_unit: no test case matched the filter; a test that runs nothing does not pass\n";
    return 1;
  }
  return rc;
}
