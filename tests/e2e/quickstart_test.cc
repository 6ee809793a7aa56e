// examples/quickstart end to end: the top-level README's first command (`tools/quickstart`)
// on a scratch root, twice (the second run converges with nothing to do), then the removal
// the example's README gives.
#include <gmock/gmock.h>

#include "tests/e2e/harness.h"

namespace cells::e2e::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Quickstart : public ExampleTest {};

TEST_F(Quickstart, ServesHelloConvergesAndIsRemovedCleanly) {
  Outcome first = run_script("tools/quickstart");
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("  CREATE       render runtime cell state"));
  EXPECT_THAT(first.out, HasSubstr("  HEALTHCHECK  test -f /var/www/mysite-edge-httpd/index.html"));
  EXPECT_THAT(first.out, HasSubstr("<p>Hello from cell mysite-edge-httpd</p>"));
  EXPECT_THAT(first.out, HasSubstr("cell_cpu_ticks_1s{"));  // cellctl stats -P: the metrics

  auto page = http(8080, "GET", "/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("Hello from cell mysite-edge-httpd"));

  Outcome again = run_script("tools/quickstart");
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("mysite-edge-httpd is declared already"));
  EXPECT_THAT(again.out, HasSubstr("summary: cells=1 changed=0 failed=0"));
  EXPECT_THAT(again.out, Not(HasSubstr("CREATE")));

  // examples/quickstart/README.md: "Remove everything again with ...".
  Outcome stop = cellmgr({"cell", "stop", "mysite-edge-httpd"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  Outcome removed = cellmgr({"cell", "remove", "mysite-edge-httpd"});
  ASSERT_EQ(removed.status, 0) << removed.err;
  EXPECT_FALSE(http(8080, "GET", "/", "", std::chrono::milliseconds(500)));
  EXPECT_EQ(etc_snapshot().count("mysite-edge-httpd.cell"), 0u);
}

}  // namespace
}  // namespace cells::e2e::testing
