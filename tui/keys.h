// The key map (anchor-cells.md section 6): which key does what in which mode. Special keys get
// codes of their own so that this file needs no curses header; term.cc translates.
#pragma once

#include "tui/model.h"

namespace cells::tui {

namespace key {
inline constexpr int kCtrlC = 3, kTab = 9, kEnter = 10, kReturn = 13, kEscape = 27;
inline constexpr int kUp = 0x10001, kDown = 0x10002, kLeft = 0x10003, kRight = 0x10004,
                     kPageUp = 0x10005, kPageDown = 0x10006, kHome = 0x10007, kEnd = 0x10008,
                     kResize = 0x10009;
}  // namespace key

enum class Command {
  kNone,
  // Global.
  kQuit, kNextMode, kNextTheme, kUp, kDown, kPageUp, kPageDown, kHome, kEnd, kRefresh,
  // Cell mode.
  kFilter, kShell, kStart, kStop, kRestart, kStartAll, kStopAll, kRestartAll, kApplyAll,
  // Storage mode.
  kBackupPrev, kBackupNext, kBackupCreate, kRestore, kRestoreWithManifest, kBackupDelete,
  // Journal mode.
  kJournalCell,
};

Command key_command(Mode mode, int key);

// The two help lines of MODE: "key label" pairs separated by '|' (the renderer colours keys
// and separators with their own roles).
struct HelpItem {
  const char* key;
  const char* label;
};
const std::vector<HelpItem>& help_line(Mode mode, int line);

}  // namespace cells::tui
