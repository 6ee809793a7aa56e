#include "cli/cellmgr/progress.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace cells::cellmgr {
namespace {

TEST(HumanBytes, PicksTheLargestUnitBelow1024) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST(RenderProgress, DrawsBarPercentRateAndEta) {
  backup::Progress p{.bytes_done = 25u << 20, .bytes_total = 100u << 20,
                     .rate_bytes_per_s = 5u << 20, .eta_s = 15};
  std::string line = render_progress("backup data", p, 100);
  EXPECT_EQ(line, "backup data [##########------------------------------]  25%  25.0 MiB/100.0 MiB"
                  "  5.0 MiB/s  ETA 15s");
  EXPECT_LE(line.size(), 100u);
}

TEST(RenderProgress, NarrowTerminalDropsTheBarAndUnknownTotalHasNoPercent) {
  backup::Progress p{.bytes_done = 2048, .bytes_total = 4096, .rate_bytes_per_s = 1024, .eta_s = 2};
  EXPECT_EQ(render_progress("restore", p, 30), "restore   50%  2.0 KiB/4.0 KiB  1.0 KiB/s  ETA 2s");
  backup::Progress unknown{.bytes_done = 1u << 20, .bytes_total = 0, .rate_bytes_per_s = 0, .eta_s = 0};
  EXPECT_EQ(render_progress("x", unknown, 80), "x  1.0 MiB  0 B/s");
}

TEST(ProgressBar, IsSilentWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressBar bar("backup", f);
    EXPECT_FALSE(bar.enabled());
    EXPECT_FALSE(bar.callback());
  }
  EXPECT_EQ(std::ftell(f), 0);
  std::fclose(f);
}

}  // namespace
}  // namespace cells::cellmgr
