#include "tui/render.h"

#include <gtest/gtest.h>

namespace cells::tui {
namespace {

Snapshot sample() {
  Snapshot s;
  s.updated = "12:34:56";
  s.cells = {CellRow{.name = "mysite-edge-httpd", .running = true, .cid = 12, .procs = 2,
                     .cpu1s = 1, .cpu10s = 0.5, .age_s = 125, .autostart = true, .health = "up",
                     .profile = "medium", .ports = "8080"},
             CellRow{.name = "lost", .manifest = false}};
  return s;
}

TEST(Render, CellModeAt80x24) {
  Ui ui;
  ui.set_snapshot(sample());
  Canvas c(80, 24);
  render(ui, "root /srv", 0, c);
  EXPECT_NE(c.row(0).find("cellui"), std::string::npos);
  EXPECT_NE(c.row(0).find("root /srv"), std::string::npos);
  EXPECT_EQ(c.row(1).substr(0, 55), " cells: 2  running: 1  missing-manifest: 1  filter: all");
  EXPECT_EQ(c.row(1).substr(61), "| updated 12:34:56");
  EXPECT_EQ(c.row(3).substr(0, 6), "|NAME ");
  for (const char* h : {"STATE", "CID", "PROCS", "CPU1S", "CPU10S", "AGE", "AUTOSTART", "HEALTH"})
    EXPECT_NE(c.row(3).find(h), std::string::npos) << h;
  EXPECT_EQ(c.row(4).substr(0, 31), "|mysite-edge-httpd  running  12") << c.dump();
  EXPECT_NE(c.row(4).find("2m5s"), std::string::npos);
  EXPECT_NE(c.row(5).find("!lost"), std::string::npos);
  EXPECT_EQ(c.at(4, 3).style, Style::kSelected);
  EXPECT_EQ(c.at(5, 3).style, Style::kPanel);
  EXPECT_NE(c.row(13).find("cell mysite-edge-httpd"), std::string::npos);
  EXPECT_NE(c.row(15).find("profile:    medium"), std::string::npos);
  EXPECT_NE(c.row(22).find("Enter shell | s start"), std::string::npos);
  EXPECT_EQ(c.at(22, 1).style, Style::kHelpKey);
  EXPECT_NE(c.row(23).find("TAB mode"), std::string::npos);
}

TEST(Render, OrphanDetailSaysMissing) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key('j', 5, 0);
  Canvas c(80, 24);
  render(ui, "", 0, c);
  EXPECT_NE(c.dump().find("manifest:   missing (ORPHAN)"), std::string::npos);
}

TEST(Render, StateColumnIsColouredByState) {
  Ui ui;
  ui.set_snapshot(sample());
  Canvas c(80, 24);
  render(ui, "", 0, c);
  int x = static_cast<int>(c.row(5).find("stopped"));
  EXPECT_EQ(c.at(5, x).style, Style::kStopped);
}

TEST(Render, DialogIsCentredOverTheScreen) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key('x', 5, 0);
  Canvas c(80, 24);
  render(ui, "", 0, c);
  std::string all = c.dump();
  EXPECT_NE(all.find("Stop mysite-edge-httpd"), std::string::npos);
  EXPECT_NE(all.find("[Enter] Stop | [other key] Cancel"), std::string::npos) << all;
}

TEST(Render, MessagesReplaceTheStatusForFourSeconds) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.notify("stop web: no such cell", true, 1000);
  Canvas c(80, 24);
  render(ui, "", 1000, c);
  EXPECT_NE(c.row(1).find("stop web: no such cell"), std::string::npos);
  EXPECT_EQ(c.at(1, 1).style, Style::kError);
  render(ui, "", 1000 + Ui::kMessageMs, c);
  EXPECT_NE(c.row(1).find("cells: 2"), std::string::npos);
}

TEST(Render, HostileTextCannotEscape) {
  Canvas c(20, 1);
  c.text(0, 0, "a\x1b[2Jb\xc3\xa9", Style::kPage);
  EXPECT_EQ(c.row(0), "a?[2Jb??");
}

TEST(Render, WideTerminalShowsDetailBesideTable) {
  Ui ui;
  ui.set_snapshot(sample());
  Canvas c(180, 40);
  render(ui, "", 0, c);
  EXPECT_NE(c.row(2).find("+- cell mysite-edge-httpd"), std::string::npos) << c.dump();
  EXPECT_NE(c.row(2).find("cells"), std::string::npos);
}

TEST(Render, EveryModeFitsTheSmallestTerminal) {
  Ui ui;
  ui.set_snapshot(sample());
  for (int m = 0; m < kModeCount; ++m) {
    Canvas c(kMinColumns, kMinLines);
    render(ui, "host somewhere-far-away", 0, c);
    EXPECT_NE(c.row(kMinLines - 1).find("TAB"), std::string::npos);
    ui.on_key(key::kTab, 5, 0);
  }
}

}  // namespace
}  // namespace cells::tui
