#include "tui/keys.h"

#include <vector>

namespace cells::tui {

Command key_command(Mode mode, int k) {
  switch (k) {
    case key::kTab: return Command::kNextMode;
    case 'q':
    case key::kCtrlC: return Command::kQuit;
    case 'm': return Command::kNextTheme;
    case 'j':
    case key::kDown: return Command::kDown;
    case 'k':
    case key::kUp: return Command::kUp;
    case key::kPageUp: return Command::kPageUp;
    case key::kPageDown: return Command::kPageDown;
    case key::kHome: return Command::kHome;
    case key::kEnd: return Command::kEnd;
    default: break;
  }
  switch (mode) {
    case Mode::kCells:
      switch (k) {
        case 'r': return Command::kRefresh;
        case 'f': return Command::kFilter;
        case key::kEnter:
        case key::kReturn: return Command::kShell;
        case 's': return Command::kStart;
        case 'x': return Command::kStop;
        case 't': return Command::kRestart;
        case 'a': return Command::kStartAll;
        case 'z': return Command::kStopAll;
        case 'y': return Command::kRestartAll;
        case 'A': return Command::kApplyAll;
        default: return Command::kNone;
      }
    case Mode::kStorage:
      switch (k) {
        case 'R': return Command::kRefresh;
        case '[':
        case key::kLeft: return Command::kBackupPrev;
        case ']':
        case key::kRight: return Command::kBackupNext;
        case 'b': return Command::kBackupCreate;
        case 'r': return Command::kRestore;
        case 'M': return Command::kRestoreWithManifest;
        case 'd': return Command::kBackupDelete;
        default: return Command::kNone;
      }
    case Mode::kJournal:
      switch (k) {
        case 'r': return Command::kRefresh;
        case 'f': return Command::kJournalCell;
        default: return Command::kNone;
      }
  }
  return Command::kNone;
}

const std::vector<HelpItem>& help_line(Mode mode, int line) {
  static const std::vector<HelpItem> kCells[2] = {
      {{"Enter", "shell"}, {"s", "start"}, {"x", "stop"}, {"t", "restart"}, {"a", "start all"},
       {"z", "stop all"}, {"y", "restart all"}, {"A", "apply all"}},
      {{"TAB", "mode"}, {"j/k", "move"}, {"r", "refresh"}, {"f", "filter"}, {"m", "theme"},
       {"q", "quit"}}};
  static const std::vector<HelpItem> kStorage[2] = {
      {{"b", "backup"}, {"r", "restore"}, {"M", "restore+manifest"}, {"d", "delete"},
       {"[ ]", "select backup"}},
      {{"TAB", "mode"}, {"j/k", "move"}, {"R", "refresh"}, {"m", "theme"}, {"q", "quit"}}};
  static const std::vector<HelpItem> kJournal[2] = {
      {{"f", "cell filter"}, {"r", "refresh"}, {"PgUp/PgDn", "page"}},
      {{"TAB", "mode"}, {"j/k", "move"}, {"m", "theme"}, {"q", "quit"}}};
  const auto* lines = mode == Mode::kCells ? kCells : mode == Mode::kStorage ? kStorage : kJournal;
  return lines[line ? 1 : 0];
}

}  // namespace cells::tui
