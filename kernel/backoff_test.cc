#include "kernel/backoff.h"

#include <gtest/gtest.h>

namespace cells::kernel {
namespace {

using std::chrono::seconds;

TEST(Backoff, DoublesToTenAndStaysThere) {
  Backoff b;
  std::vector<long> got;
  for (int i = 0; i < 7; ++i) got.push_back(b.next(seconds(1)).count());
  EXPECT_EQ(got, (std::vector<long>{1, 2, 4, 8, 10, 10, 10}));
}

TEST(Backoff, LongRunResetsToOneSecond) {
  Backoff b;
  b.next(seconds(0));
  b.next(seconds(0));
  EXPECT_EQ(b.next(seconds(29)).count(), 4);
  EXPECT_EQ(b.next(seconds(30)).count(), 1);
  EXPECT_EQ(b.next(seconds(2)).count(), 2);
}

TEST(CrashBudget, FailsOnTheRestartBeyondTheBudget) {
  CrashBudget c({3, seconds(60)});
  auto t0 = Clock::time_point{} + seconds(1000);
  EXPECT_TRUE(c.try_restart(t0));
  EXPECT_TRUE(c.try_restart(t0 + seconds(1)));
  EXPECT_TRUE(c.try_restart(t0 + seconds(3)));
  EXPECT_FALSE(c.try_restart(t0 + seconds(7)));
}

TEST(CrashBudget, OldRestartsLeaveTheWindow) {
  CrashBudget c({2, seconds(10)});
  auto t0 = Clock::time_point{} + seconds(1000);
  EXPECT_TRUE(c.try_restart(t0));
  EXPECT_TRUE(c.try_restart(t0 + seconds(5)));
  EXPECT_FALSE(c.try_restart(t0 + seconds(9)));
  EXPECT_TRUE(c.try_restart(t0 + seconds(10)));  // the first one is now 10 s old
  EXPECT_EQ(c.restarts_in_window(), 2u);
}

TEST(RestartBudget, Parses) {
  auto b = parse_restart_budget("5/60s");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->restarts, 5u);
  EXPECT_EQ(b->window, seconds(60));
  EXPECT_EQ(parse_restart_budget("3/2m")->window, seconds(120));
  EXPECT_EQ(parse_restart_budget("10/1h")->window, seconds(3600));
  EXPECT_EQ(parse_restart_budget("4/15")->window, seconds(15));
  EXPECT_EQ(to_string(*parse_restart_budget("3/2m")), "3/120s");
}

TEST(RestartBudget, RejectsBadInputNamingIt) {
  for (const char* bad : {"", "5", "/60s", "5/", "x/60s", "5/60x", "0/60s", "5/0s", "-1/5s"}) {
    auto b = parse_restart_budget(bad);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.error().kind(), ErrorKind::kInvalid);
    EXPECT_NE(b.error().message().find("restart budget"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace cells::kernel
