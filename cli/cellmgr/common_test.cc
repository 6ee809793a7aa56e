#include "cli/cellmgr/common.h"

#include <gtest/gtest.h>

namespace cells::cellmgr {
namespace {

constexpr int64_t kSec = 1'000'000'000;

TEST(ParseTime, AcceptsDatesUnixSecondsAndDurations) {
  EXPECT_EQ(*parse_time("1970-01-02", 0), 86400 * kSec);
  EXPECT_EQ(*parse_time("2024-05-01T12:30", 0), int64_t{1714566600} * kSec);
  EXPECT_EQ(*parse_time("2024-05-01T12:30:15", 0), int64_t{1714566615} * kSec);
  EXPECT_EQ(*parse_time("@100", 0), 100 * kSec);
  EXPECT_EQ(*parse_time("10m", 1000 * kSec), 400 * kSec);
  EXPECT_EQ(*parse_time("2h", 10000 * kSec), 2800 * kSec);
}

TEST(ParseTime, RejectsGarbageNamingIt) {
  for (const char* bad : {"", "yesterday", "2024-13-01", "2024-05-01T25:00", "10x", "@-3",
                          "2024-05-01junk", "-5m"}) {
    auto r = parse_time(bad, 0);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
    EXPECT_NE(r.error().message().find(std::string("'") + bad + "'"), std::string::npos);
  }
}

TEST(FormatTime, IsUtcWithMilliseconds) {
  EXPECT_EQ(format_time(86400 * kSec + 5'000'000), "1970-01-02T00:00:00.005Z");
}

}  // namespace
}  // namespace cells::cellmgr
