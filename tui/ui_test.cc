#include "tui/ui.h"

#include <gtest/gtest.h>

#include "tui/theme.h"

namespace cells::tui {
namespace {

using K = Request::Kind;

Snapshot sample() {
  Snapshot s;
  s.cells = {CellRow{.name = "db", .running = true, .cid = 3},
             CellRow{.name = "web", .running = false},
             CellRow{.name = "zombie", .manifest = false, .running = true, .cid = 9}};
  s.storage = {StorageRow{.name = "www", .kind = "volume", .runtime = true,
                          .backups = {{"www-2.tar.zst", "t2", 20}, {"www-1.tar.zst", "t1", 10}}},
               StorageRow{.name = "web", .kind = "overlay", .runtime = true}};
  s.journal = {JournalRow{1, "t", "op-1", "cell.start", "cell/db", "", "db"},
               JournalRow{2, "t", "op-2", "cell.stop", "cell/web", "", "web"},
               JournalRow{3, "t", "op-3", "volume.set", "volume/www", "", ""},
               JournalRow{4, "t", "op-4", "cell.start", "cell/db", "", "db"}};
  return s;
}

TEST(Keys, ReferenceBindings) {
  EXPECT_EQ(key_command(Mode::kCells, 's'), Command::kStart);
  EXPECT_EQ(key_command(Mode::kCells, 'x'), Command::kStop);
  EXPECT_EQ(key_command(Mode::kCells, 't'), Command::kRestart);
  EXPECT_EQ(key_command(Mode::kCells, 'a'), Command::kStartAll);
  EXPECT_EQ(key_command(Mode::kCells, 'z'), Command::kStopAll);
  EXPECT_EQ(key_command(Mode::kCells, 'y'), Command::kRestartAll);
  EXPECT_EQ(key_command(Mode::kCells, 'A'), Command::kApplyAll);
  EXPECT_EQ(key_command(Mode::kCells, key::kEnter), Command::kShell);
  EXPECT_EQ(key_command(Mode::kCells, 'r'), Command::kRefresh);
  EXPECT_EQ(key_command(Mode::kCells, 'f'), Command::kFilter);
  EXPECT_EQ(key_command(Mode::kStorage, 'R'), Command::kRefresh);
  EXPECT_EQ(key_command(Mode::kStorage, 'r'), Command::kRestore);
  EXPECT_EQ(key_command(Mode::kStorage, 'M'), Command::kRestoreWithManifest);
  EXPECT_EQ(key_command(Mode::kStorage, 'b'), Command::kBackupCreate);
  EXPECT_EQ(key_command(Mode::kStorage, 'd'), Command::kBackupDelete);
  EXPECT_EQ(key_command(Mode::kStorage, '['), Command::kBackupPrev);
  EXPECT_EQ(key_command(Mode::kStorage, key::kRight), Command::kBackupNext);
  EXPECT_EQ(key_command(Mode::kStorage, 's'), Command::kNone);  // lifecycle is cell mode only
  for (Mode m : {Mode::kCells, Mode::kStorage, Mode::kJournal}) {
    EXPECT_EQ(key_command(m, key::kTab), Command::kNextMode);
    EXPECT_EQ(key_command(m, 'q'), Command::kQuit);
    EXPECT_EQ(key_command(m, key::kCtrlC), Command::kQuit);
    EXPECT_EQ(key_command(m, 'm'), Command::kNextTheme);
    EXPECT_EQ(key_command(m, 'j'), Command::kDown);
    EXPECT_EQ(key_command(m, key::kUp), Command::kUp);
    EXPECT_EQ(key_command(m, key::kPageDown), Command::kPageDown);
  }
}

TEST(Ui, TabCyclesModesAndMovementStaysInRange) {
  Ui ui;
  ui.set_snapshot(sample());
  EXPECT_EQ(ui.mode(), Mode::kCells);
  ui.on_key('k', 5, 0);
  EXPECT_EQ(ui.selected(), 0u);
  ui.on_key('j', 5, 0), ui.on_key('j', 5, 0), ui.on_key('j', 5, 0);
  EXPECT_EQ(ui.selected(), 2u);
  ui.on_key(key::kPageUp, 5, 0);
  EXPECT_EQ(ui.selected(), 0u);
  ui.on_key(key::kTab, 5, 0);
  EXPECT_EQ(ui.mode(), Mode::kStorage);
  ui.on_key(key::kTab, 5, 0);
  EXPECT_EQ(ui.mode(), Mode::kJournal);
  ui.on_key(key::kTab, 5, 0);
  EXPECT_EQ(ui.mode(), Mode::kCells);
}

TEST(Ui, StartGoesStraightOutStopAsksFirst) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key('j', 5, 0);  // web
  EXPECT_EQ(ui.on_key('s', 5, 0), (Request{K::kStart, "web"}));
  EXPECT_EQ(ui.on_key('x', 5, 0), Request{});
  ASSERT_TRUE(ui.dialog());
  EXPECT_EQ(ui.dialog()->confirm_label, "[Enter] Stop");
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 0), (Request{K::kStop, "web"}));
  EXPECT_FALSE(ui.dialog());
  // Any other key cancels and changes nothing.
  ui.on_key('A', 5, 0);
  EXPECT_EQ(ui.on_key('n', 5, 0), Request{});
  EXPECT_FALSE(ui.dialog());
  EXPECT_EQ(ui.on_key('z', 5, 0), Request{});
  EXPECT_EQ(ui.on_key(key::kReturn, 5, 0), (Request{K::kStopAll}));
}

TEST(Ui, ShellOnlyInARunningCell) {
  Ui ui;
  ui.set_snapshot(sample());
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 100), (Request{K::kShell, "db"}));
  ui.on_key('j', 5, 100);
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 100), Request{});
  ASSERT_TRUE(ui.message(100));
  EXPECT_EQ(ui.message(100)->first, "shell: cell web is not running");
  EXPECT_TRUE(ui.message(100)->second);
  EXPECT_FALSE(ui.message(100 + Ui::kMessageMs));  // gone after 4 s
}

TEST(Ui, FilterCyclesAllRunningStopped) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.filter(), CellFilter::kRunning);
  EXPECT_EQ(ui.row_count(), 2u);
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.row_count(), 1u);
  EXPECT_EQ(ui.selected_cell()->name, "web");
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.filter(), CellFilter::kAll);
}

TEST(Ui, RestoreDialogNamesTheBackupAndWarns) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key(key::kTab, 5, 0);
  ui.on_key(']', 5, 0);
  EXPECT_EQ(ui.backup_selected(), 1u);
  ui.on_key(']', 5, 0);
  EXPECT_EQ(ui.backup_selected(), 1u);  // stays on the oldest
  EXPECT_EQ(ui.on_key('r', 5, 0), Request{});
  ASSERT_TRUE(ui.dialog());
  EXPECT_EQ(ui.dialog()->confirm_label, "[Enter] Restore now");
  EXPECT_EQ(ui.dialog()->cancel_label, "[other key] Cancel");
  EXPECT_EQ(ui.dialog()->lines[1], "This will replace current runtime volume contents.");
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 0),
            (Request{K::kRestore, "www", true, "www-1.tar.zst", false}));
  ui.on_key('M', 5, 0);
  EXPECT_EQ(ui.dialog()->confirm_label, "[Enter] Restore with manifest");
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 0),
            (Request{K::kRestore, "www", true, "www-1.tar.zst", true}));
  ui.on_key('d', 5, 0);
  EXPECT_EQ(ui.dialog()->confirm_label, "[Enter] Delete backup");
  EXPECT_EQ(ui.on_key(key::kEscape, 5, 0), Request{});
  // A row without backups: an error message, no dialog.
  ui.on_key('j', 5, 0);
  EXPECT_EQ(ui.on_key('r', 5, 0), Request{});
  EXPECT_FALSE(ui.dialog());
  EXPECT_EQ(ui.message(0)->first, "overlay web has no backups");
  EXPECT_EQ(ui.on_key('b', 5, 0), (Request{K::kBackupCreate, "web", false, "", false}));
}

TEST(Ui, SelectionFollowsTheRowByName) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key('j', 5, 0);
  Snapshot s = sample();
  s.cells.insert(s.cells.begin(), CellRow{.name = "api"});
  ui.set_snapshot(s);
  EXPECT_EQ(ui.selected_cell()->name, "web");
  s.cells.erase(s.cells.begin() + 2);  // web is gone: the selection stays in range
  s.cells.pop_back();
  ui.set_snapshot(s);
  EXPECT_EQ(ui.selected(), 1u);
  // A new backup arrives first in the list; the picked one stays picked.
  ui.on_key(key::kTab, 5, 0);
  ui.on_key(']', 5, 0);
  s.storage[0].backups.insert(s.storage[0].backups.begin(), BackupRow{"www-3.tar.zst", "t3", 1});
  ui.set_snapshot(s);
  EXPECT_EQ(ui.snapshot().storage[0].backups[ui.backup_selected()].id, "www-1.tar.zst");
}

TEST(Ui, JournalFilterCyclesThroughTheCellsItMentions) {
  Ui ui;
  ui.set_snapshot(sample());
  ui.on_key(key::kTab, 5, 0), ui.on_key(key::kTab, 5, 0);
  EXPECT_EQ(ui.row_count(), 4u);
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.journal_cell(), "db");
  EXPECT_EQ(ui.row_count(), 2u);
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.journal_cell(), "web");
  ui.on_key('f', 5, 0);
  EXPECT_EQ(ui.journal_cell(), "");
}

TEST(Ui, ThemeKeyRotatesAndWraps) {
  Ui ui(themes().size() - 1);
  EXPECT_EQ(ui.on_key('m', 5, 0), (Request{K::kThemeChanged}));
  EXPECT_EQ(ui.theme(), 0u);
}

TEST(Ui, DisconnectDialogReconnectsOnEnterAndQuitsOtherwise) {
  Ui ui;
  ui.disconnected("bridge exited");
  ASSERT_TRUE(ui.dialog());
  EXPECT_EQ(ui.dialog()->confirm_label, "[Enter] Reconnect");
  EXPECT_EQ(ui.on_key(key::kEnter, 5, 0), (Request{K::kReconnect}));
  ui.disconnected("bridge exited");
  EXPECT_EQ(ui.on_key('x', 5, 0), (Request{K::kQuit}));
}

}  // namespace
}  // namespace cells::tui
