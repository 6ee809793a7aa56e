// cellui's state machine: mode, selection, filters, dialogs and status messages. Keys go in,
// Requests for the bridge come out; nothing here does I/O, so every key binding and dialog is
// unit-tested. main.cc carries Requests out through the bridge and feeds replies back in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tui/keys.h"
#include "tui/model.h"

namespace cells::tui {

struct Request {
  enum class Kind {
    kNone, kQuit, kRefresh, kStart, kStop, kRestart, kStartAll, kStopAll, kRestartAll,
    kApplyAll, kShell, kBackupCreate, kRestore, kBackupDelete, kReconnect, kThemeChanged,
  };
  Kind kind = Kind::kNone;
  std::string target;    // cell or volume name
  bool volume = false;   // storage actions: a volume (true) or a cell's overlay (false)
  std::string backup;    // backup id for restore and delete
  bool with_manifest = false;
  bool operator==(const Request&) const = default;
};

// A modal question. Enter runs CONFIRM; any other key runs CANCEL (usually nothing).
struct Dialog {
  std::string title;
  std::vector<std::string> lines;
  std::string confirm_label, cancel_label;
  Request confirm, cancel;
  bool error = false;  // drawn in the error colours (the disconnect dialog)
};

class Ui {
 public:
  explicit Ui(size_t theme = 0) : theme_(theme) {}

  // One key press at NOW_MS. PAGE_ROWS is how many table rows the screen shows (PgUp/PgDn).
  Request on_key(int key, int page_rows, int64_t now_ms);

  // A fresh snapshot from the bridge. Selections follow their row by name, not by index, so
  // a cell that sorts elsewhere after a change stays selected.
  void set_snapshot(Snapshot s);
  // The bridge dropped: the reconnect dialog (Enter reconnects, any other key quits).
  void disconnected(const std::string& why);
  // A message in the status bar until NOW_MS + kMessageMs (errors in the error colours).
  void notify(std::string text, bool error, int64_t now_ms);
  void set_busy(bool busy) { busy_ = busy; }
  void tick_spinner() { ++spinner_; }
  static constexpr int64_t kMessageMs = 4000;

  Mode mode() const { return mode_; }
  CellFilter filter() const { return filter_; }
  const std::string& journal_cell() const { return journal_cell_; }
  const Snapshot& snapshot() const { return snap_; }
  size_t selected() const { return sel_[static_cast<int>(mode_)]; }
  size_t backup_selected() const { return backup_sel_; }
  const std::optional<Dialog>& dialog() const { return dialog_; }
  size_t theme() const { return theme_; }
  bool busy() const { return busy_; }
  char spinner() const { return "|/-\\"[spinner_ % 4]; }
  // The status message if it is still due at NOW_MS.
  std::optional<std::pair<std::string, bool>> message(int64_t now_ms) const;
  // When the current message expires (the event loop wakes then to clear it), or -1.
  int64_t message_deadline() const { return message_.empty() ? -1 : message_until_ms_; }

  // The rows the current mode shows; the selected cell and storage row.
  size_t row_count() const;
  const CellRow* selected_cell() const;
  const StorageRow* selected_storage() const;

 private:
  Request command(Command c, int page_rows);
  Request confirm(std::string title, std::vector<std::string> lines, std::string label,
                  Request r);
  void move(long delta);
  void clamp();

  Snapshot snap_;
  Mode mode_ = Mode::kCells;
  CellFilter filter_ = CellFilter::kAll;
  std::string journal_cell_;
  size_t sel_[kModeCount] = {0, 0, 0};
  size_t backup_sel_ = 0;
  std::optional<Dialog> dialog_;
  std::string message_;
  bool message_error_ = false;
  int64_t message_until_ms_ = 0;
  size_t theme_ = 0;
  bool busy_ = false;
  unsigned spinner_ = 0;
  int64_t now_ms_ = 0;  // of the key being handled
};

}  // namespace cells::tui
