#include "tui/layout.h"

#include <gtest/gtest.h>

namespace cells::tui {
namespace {

TEST(Layout, EightyByTwentyFourStacksTableAndDetail) {
  Layout l = layout_for(80, 24, 7);
  EXPECT_FALSE(l.wide);
  EXPECT_EQ(l.header, (Rect{0, 0, 1, 80}));
  EXPECT_EQ(l.status, (Rect{1, 0, 1, 80}));
  EXPECT_EQ(l.help, (Rect{22, 0, 2, 80}));
  EXPECT_EQ(l.detail, (Rect{13, 0, 9, 80}));  // 7 lines and a border
  EXPECT_EQ(l.table, (Rect{2, 0, 11, 80}));
  EXPECT_EQ(l.table_rows(), 8);
}

TEST(Layout, ShortTerminalShrinksTheDetailPanelNotTheTable) {
  Layout l = layout_for(80, 24, 12);  // storage mode wants 12 detail lines
  EXPECT_EQ(l.table.h, 6);
  EXPECT_EQ(l.detail.h, 14);
  l = layout_for(80, 16, 12);
  EXPECT_EQ(l.table.h, 6);
  EXPECT_EQ(l.detail.h, 6);
  EXPECT_EQ(l.table.h + l.detail.h + 4, 16);
}

TEST(Layout, WideTerminalPutsTheDetailPanelBesideTheTable) {
  Layout l = layout_for(200, 50, 7);
  EXPECT_TRUE(l.wide);
  EXPECT_EQ(l.table, (Rect{2, 0, 46, 100}));
  EXPECT_EQ(l.detail, (Rect{2, 100, 46, 100}));
  EXPECT_EQ(layout_for(139, 40, 7).wide, false);
}

TextTable sample() {
  return {{"NAME", "STATE", "CID"},
          {{"a-rather-long-cell-name", "running", "12"}, {"b", "stopped", "-"}}};
}

TEST(Layout, ColumnsAreAsWideAsTheirWidestValue) {
  EXPECT_EQ(column_widths(sample(), 80, 0), (std::vector<int>{23, 7, 3}));
}

TEST(Layout, TheFlexColumnShrinksFirstThenColumnsDropFromTheRight) {
  // 23 + 7 + 3 + 2 gaps = 37; 30 columns: the name gives 7.
  EXPECT_EQ(column_widths(sample(), 30, 0), (std::vector<int>{16, 7, 3}));
  // The name cannot go below its header (4): 4+2+7+2+3 = 18 fits; 12 does not, CID drops.
  EXPECT_EQ(column_widths(sample(), 18, 0), (std::vector<int>{4, 7, 3}));
  EXPECT_EQ(column_widths(sample(), 13, 0), (std::vector<int>{4, 7, 0}));
}

TEST(Layout, EightyColumnsShowEveryCellColumn) {
  TextTable t = cell_table({});
  CellRow c{.name = "mysite-edge-httpd", .running = true, .cid = 12, .procs = 3, .cpu1s = 1,
            .age_s = 7265, .autostart = true, .health = "up"};
  t = cell_table({&c});
  auto w = column_widths(t, 80 - 4, 0);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_GT(w[i], 0) << t.headers[i];
}

TEST(Layout, FitPadsAndMarksCuts) {
  EXPECT_EQ(fit("web", 5), "web  ");
  EXPECT_EQ(fit("webserver", 5), "webs~");
  EXPECT_EQ(fit("x", 0), "");
}

}  // namespace
}  // namespace cells::tui
