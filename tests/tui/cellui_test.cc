// cellui end to end: the real TUI in tmux against the real bridge and real cells (see
// tmux_harness.h). Every change made from the keyboard is checked with cellmgr, not with the
// TUI's own view of it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "base/files.h"
#include "tests/tui/tmux_harness.h"

namespace cells::tui::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST_F(TuiTest, TablesShowLiveStateAndKeysStopAndStartCells) {
  bootstrap();
  declare_sleeper("alpha");
  declare_sleeper("beta");
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 2  running: 0")) << last_screen_;
  EXPECT_THAT(line_with("alpha"), HasSubstr("stopped"));
  EXPECT_THAT(screen(), HasSubstr("| updated "));

  // A change made outside cellui shows up without a key press (the bridge pushes it).
  ASSERT_EQ(cellmgr({"cell", "start", "beta"}).status, 0);
  ASSERT_TRUE(wait_for("cells: 2  running: 1")) << last_screen_;
  EXPECT_THAT(line_with("beta "), HasSubstr("running"));

  // s starts the selected cell (alpha, the first row).
  keys({"s"});
  ASSERT_TRUE(wait_for("running: 2")) << last_screen_;
  EXPECT_EQ(running("alpha"), "1");

  // Enter opens a shell in the running cell with the screen handed over, and cellui comes back.
  keys({"Enter"});
  ASSERT_TRUE(wait_for("cells: 2", std::chrono::seconds(10), true)) << last_screen_;
  keys({"echo hi-$((6*7))", "Enter"});
  ASSERT_TRUE(wait_for("hi-42")) << last_screen_;
  keys({"exit", "Enter"});
  ASSERT_TRUE(wait_for("cells: 2  running: 2")) << last_screen_;

  // x asks first; another key cancels and the cell keeps running.
  keys({"x"});
  ASSERT_TRUE(wait_for("[Enter] Stop | [other key] Cancel")) << last_screen_;
  keys({"n"});
  ASSERT_TRUE(wait_for("[Enter] Stop", std::chrono::seconds(5), true)) << last_screen_;
  EXPECT_EQ(running("alpha"), "1");
  keys({"x"});
  ASSERT_TRUE(wait_for("[Enter] Stop |")) << last_screen_;
  keys({"Enter"});
  ASSERT_TRUE(wait_for("running: 1  missing")) << last_screen_;
  EXPECT_EQ(running("alpha"), "0");
  EXPECT_EQ(running("beta"), "1");

  // The filter shows running cells only.
  keys({"f"});
  ASSERT_TRUE(wait_for("filter: running")) << last_screen_;
  EXPECT_EQ(line_with("alpha "), "");

  keys({"q"});
  EXPECT_TRUE(wait_exit());
  ASSERT_EQ(cellmgr({"cell", "stop", "beta"}).status, 0);
}

TEST_F(TuiTest, BackupFromStorageModeAndACancelledRestoreChangesNothing) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "www", "--scope", "both"}).status, 0);
  ASSERT_TRUE(write_file_atomic(paths_->volumes_dir() + "/www/index.html", "v1\n").ok());
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 0")) << last_screen_;
  keys({"Tab"});
  ASSERT_TRUE(wait_for("storage: 1  volumes: 1  overlays: 0  backup-ready: 1  backups: 0"))
      << last_screen_;
  keys({"b"});
  ASSERT_TRUE(wait_for("backups: 1")) << last_screen_;
  // The archive the detail panel lists (and selects) is the one cellmgr lists.
  std::string shown = line_with("> www_");
  ASSERT_NE(shown, "") << screen();
  std::string file = shown.substr(shown.find("> www_") + 2);
  file = file.substr(0, file.find(' '));
  EXPECT_THAT(file, ::testing::EndsWith(".tar.zst"));
  auto list = cellmgr({"volume", "backup", "list", "www", "-T", "-H"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(file));

  // Change the data, then open the restore dialog and leave it with Escape.
  ASSERT_TRUE(write_file_atomic(paths_->volumes_dir() + "/www/index.html", "v2\n").ok());
  auto journal_before = cellmgr({"journal", "list"}).out;
  keys({"r"});
  ASSERT_TRUE(wait_for("[Enter] Restore now | [other key] Cancel")) << last_screen_;
  EXPECT_THAT(last_screen_, HasSubstr("will replace current runtime volume contents"));
  keys({"Escape"});
  ASSERT_TRUE(wait_for("Restore now", std::chrono::seconds(5), true)) << last_screen_;
  // Give a wrongly started restore time to show itself before checking nothing happened.
  ::usleep(500 * 1000);
  EXPECT_EQ(read_file(paths_->volumes_dir() + "/www/index.html").value_or("?"), "v2\n");
  EXPECT_EQ(cellmgr({"journal", "list"}).out, journal_before);

  // Enter restores for real.
  keys({"r"});
  ASSERT_TRUE(wait_for("[Enter] Restore now")) << last_screen_;
  keys({"Enter"});
  ASSERT_TRUE(wait_for("restored volume www")) << last_screen_;
  EXPECT_EQ(read_file(paths_->volumes_dir() + "/www/index.html").value_or("?"), "v1\n");
  keys({"q"});
  EXPECT_TRUE(wait_exit());
}

TEST_F(TuiTest, ThemeSwitchesAndPersistsPerUser) {
  bootstrap();
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 0")) << last_screen_;
  std::string sysinst = screen(true);
  keys({"m"});
  ASSERT_TRUE(wait_for("theme mc")) << last_screen_;
  EXPECT_EQ(read_file(home_ + "/.celluirc").value_or(""), "theme=mc\n");
  std::string mc = screen(true);
  // The first line (the header) is drawn in other colours.
  EXPECT_NE(sysinst.substr(0, sysinst.find('\n')), mc.substr(0, mc.find('\n')));
  keys({"q"});
  ASSERT_TRUE(wait_exit());
  host({"tmux", "-S", tmux_socket_, "kill-server"});

  // A new cellui starts in the saved theme.
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 0")) << last_screen_;
  std::string again = screen(true);
  EXPECT_EQ(again.substr(0, again.find('\n')), mc.substr(0, mc.find('\n')));
  keys({"q"});
  EXPECT_TRUE(wait_exit());
}

TEST_F(TuiTest, KillingTheBridgeOffersReconnectAndReconnectingWorks) {
  bootstrap();
  declare_sleeper("gamma");
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 1  running: 0")) << last_screen_;
  pid_t bridge = bridge_pid();
  ASSERT_GT(bridge, 0);
  ASSERT_EQ(::kill(bridge, SIGKILL), 0);
  ASSERT_TRUE(wait_for("[Enter] Reconnect | [other key] Quit")) << last_screen_;
  EXPECT_THAT(last_screen_, HasSubstr("Disconnected"));
  keys({"Enter"});
  ASSERT_TRUE(wait_for("Reconnect", std::chrono::seconds(10), true)) << last_screen_;
  pid_t again = bridge_pid();
  EXPECT_GT(again, 0);
  EXPECT_NE(again, bridge);
  // The new bridge carries actions and pushes their events.
  keys({"s"});
  ASSERT_TRUE(wait_for("running: 1")) << last_screen_;
  EXPECT_EQ(running("gamma"), "1");
  ASSERT_EQ(cellmgr({"cell", "stop", "gamma"}).status, 0);
  ASSERT_TRUE(wait_for("running: 0")) << last_screen_;

  // The dialog's other key quits.
  ASSERT_EQ(::kill(bridge_pid(), SIGKILL), 0);
  ASSERT_TRUE(wait_for("[Enter] Reconnect")) << last_screen_;
  keys({"x"});
  EXPECT_TRUE(wait_exit());
}

TEST_F(TuiTest, JournalModeShowsTheAuditTrailFilteredByCell) {
  bootstrap();
  declare_sleeper("delta");
  declare_sleeper("eps");
  start_cellui();
  ASSERT_TRUE(wait_for("cells: 2")) << last_screen_;
  keys({"Tab", "Tab"});
  ASSERT_TRUE(wait_for("cell: all")) << last_screen_;
  EXPECT_THAT(last_screen_, HasSubstr("cell/eps"));
  ASSERT_EQ(cellmgr({"cell", "start", "delta"}).status, 0);
  ASSERT_TRUE(wait_for("cell.start")) << last_screen_;  // appended by a pushed event
  keys({"f"});
  ASSERT_TRUE(wait_for("cell: delta")) << last_screen_;
  EXPECT_THAT(last_screen_, HasSubstr("cell/delta"));
  EXPECT_THAT(last_screen_, Not(HasSubstr("cell/eps")));
  keys({"q"});
  EXPECT_TRUE(wait_exit());
  ASSERT_EQ(cellmgr({"cell", "stop", "delta"}).status, 0);
}

TEST_F(TuiTest, BadOptionsGetOneLineAndStartNothing) {
  auto r = host({cellui_path(), "--theme", "neon", "--root", scratch_});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err,
            "cellui: unknown theme 'neon' (themes: sysinst, mc, amber-monitor, green-monitor, "
            "mono-gray, synthwave-80s)\n");
  r = host({cellui_path(), "--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("cellui: The following argument was not expected: --bogus"));
  // A bridge that cannot start is reported before the terminal is touched.
  r = host({cellui_path(), "--cellmgr", "/nonexistent/cellmgr", "--root", scratch_});
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.err, HasSubstr("cellui: "));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace cells::tui::testing
