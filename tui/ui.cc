#include "tui/ui.h"

#include <algorithm>
#include <set>

#include "tui/theme.h"

namespace cells::tui {

namespace {
constexpr const char* kCancelLabel = "[other key] Cancel";
}

std::optional<std::pair<std::string, bool>> Ui::message(int64_t now_ms) const {
  if (message_.empty() || now_ms >= message_until_ms_) return std::nullopt;
  return std::make_pair(message_, message_error_);
}

void Ui::notify(std::string text, bool error, int64_t now_ms) {
  message_ = std::move(text);
  message_error_ = error;
  message_until_ms_ = now_ms + kMessageMs;
}

size_t Ui::row_count() const {
  switch (mode_) {
    case Mode::kCells: return visible_cells(snap_, filter_).size();
    case Mode::kStorage: return snap_.storage.size();
    case Mode::kJournal: return visible_journal(snap_, journal_cell_).size();
  }
  return 0;
}

const CellRow* Ui::selected_cell() const {
  auto rows = visible_cells(snap_, filter_);
  size_t i = sel_[static_cast<int>(Mode::kCells)];
  return i < rows.size() ? rows[i] : nullptr;
}

const StorageRow* Ui::selected_storage() const {
  size_t i = sel_[static_cast<int>(Mode::kStorage)];
  return i < snap_.storage.size() ? &snap_.storage[i] : nullptr;
}

void Ui::clamp() {
  Mode saved = mode_;
  for (int m = 0; m < kModeCount; ++m) {
    mode_ = static_cast<Mode>(m);
    size_t n = row_count();
    sel_[m] = n ? std::min(sel_[m], n - 1) : 0;
  }
  mode_ = saved;
  const StorageRow* v = selected_storage();
  size_t nb = v ? v->backups.size() : 0;
  backup_sel_ = nb ? std::min(backup_sel_, nb - 1) : 0;
}

void Ui::move(long delta) {
  size_t& s = sel_[static_cast<int>(mode_)];
  long n = static_cast<long>(row_count());
  long next = std::clamp(static_cast<long>(s) + delta, 0L, std::max(0L, n - 1));
  if (mode_ == Mode::kStorage && static_cast<size_t>(next) != s) backup_sel_ = 0;
  s = static_cast<size_t>(next);
}

void Ui::set_snapshot(Snapshot s) {
  // Remember what is selected by name, then find it again in the new rows.
  const CellRow* c = selected_cell();
  const StorageRow* v = selected_storage();
  std::string cell = c ? c->name : "", vol = v ? v->name + "/" + v->kind : "";
  std::string backup = v && backup_sel_ < v->backups.size() ? v->backups[backup_sel_].id : "";
  snap_ = std::move(s);
  auto cells = visible_cells(snap_, filter_);
  for (size_t i = 0; i < cells.size(); ++i)
    if (cells[i]->name == cell) sel_[static_cast<int>(Mode::kCells)] = i;
  for (size_t i = 0; i < snap_.storage.size(); ++i) {
    if (snap_.storage[i].name + "/" + snap_.storage[i].kind != vol) continue;
    sel_[static_cast<int>(Mode::kStorage)] = i;
    // A new backup is listed first; keep the one the operator picked, else the newest.
    backup_sel_ = 0;
    for (size_t b = 0; b < snap_.storage[i].backups.size(); ++b)
      if (snap_.storage[i].backups[b].id == backup) backup_sel_ = b;
  }
  clamp();
}

void Ui::disconnected(const std::string& why) {
  Request quit{Request::Kind::kQuit};
  dialog_ = Dialog{"Disconnected",
                   {"The connection to the bridge was lost:", why},
                   "[Enter] Reconnect",
                   "[other key] Quit",
                   Request{Request::Kind::kReconnect},
                   quit,
                   true};
}

Request Ui::confirm(std::string title, std::vector<std::string> lines, std::string label,
                    Request r) {
  dialog_ = Dialog{std::move(title), std::move(lines), std::move(label), kCancelLabel,
                   std::move(r), Request{}, false};
  return {};
}

Request Ui::on_key(int key, int page_rows, int64_t now_ms) {
  now_ms_ = now_ms;
  if (dialog_) {
    Dialog d = std::move(*dialog_);
    dialog_.reset();
    return key == key::kEnter || key == key::kReturn ? d.confirm : d.cancel;
  }
  return command(key_command(mode_, key), page_rows);
}

Request Ui::command(Command c, int page_rows) {
  using K = Request::Kind;
  const CellRow* cell = selected_cell();
  const StorageRow* vol = selected_storage();
  const BackupRow* backup =
      vol && backup_sel_ < vol->backups.size() ? &vol->backups[backup_sel_] : nullptr;
  auto need_cell = [&](const char* what) {
    if (!cell) notify(std::string(what) + ": no cell selected", true, now_ms_);
    return cell != nullptr;
  };
  auto storage_target = [&](K kind) {
    return Request{kind, vol->name, vol->kind == "volume", backup ? backup->id : "", false};
  };
  switch (c) {
    case Command::kNone: return {};
    case Command::kQuit: return {K::kQuit};
    case Command::kNextMode:
      mode_ = static_cast<Mode>((static_cast<int>(mode_) + 1) % kModeCount);
      return {};
    case Command::kNextTheme:
      theme_ = (theme_ + 1) % themes().size();
      return {K::kThemeChanged};
    case Command::kUp: move(-1); return {};
    case Command::kDown: move(1); return {};
    case Command::kPageUp: move(-std::max(1, page_rows)); return {};
    case Command::kPageDown: move(std::max(1, page_rows)); return {};
    case Command::kHome: move(-static_cast<long>(row_count())); return {};
    case Command::kEnd: move(static_cast<long>(row_count())); return {};
    case Command::kRefresh: return {K::kRefresh};
    case Command::kFilter:
      filter_ = next_filter(filter_);
      clamp();
      return {};
    case Command::kJournalCell: {
      std::set<std::string> names;
      for (const auto& j : snap_.journal)
        if (!j.cell.empty()) names.insert(j.cell);
      auto it = names.upper_bound(journal_cell_);
      journal_cell_ = it == names.end() ? "" : *it;
      clamp();
      return {};
    }
    case Command::kShell:
      if (!need_cell("shell")) return {};
      if (!cell->running) {
        notify("shell: cell " + cell->name + " is not running", true, now_ms_);
        return {};
      }
      return {K::kShell, cell->name};
    case Command::kStart:
      if (!need_cell("start")) return {};
      return {K::kStart, cell->name};
    case Command::kStop:
      if (!need_cell("stop")) return {};
      return confirm("Stop " + cell->name, {"Stop cell " + cell->name + " and its services?"},
                     "[Enter] Stop", {K::kStop, cell->name});
    case Command::kRestart:
      if (!need_cell("restart")) return {};
      return confirm("Restart " + cell->name,
                     {"Restart cell " + cell->name + "? Its services are stopped first."},
                     "[Enter] Restart", {K::kRestart, cell->name});
    case Command::kStartAll: return {K::kStartAll};
    case Command::kStopAll:
      return confirm("Stop all", {"Stop every running cell?"}, "[Enter] Stop all",
                     {K::kStopAll});
    case Command::kRestartAll:
      return confirm("Restart all", {"Restart every cell?"}, "[Enter] Restart all",
                     {K::kRestartAll});
    case Command::kApplyAll:
      return confirm("Apply all", {"Converge every cell to its manifest (apply --all)?"},
                     "[Enter] Apply now", {K::kApplyAll});
    case Command::kBackupPrev:
      if (backup_sel_ > 0) --backup_sel_;
      return {};
    case Command::kBackupNext:
      if (vol && backup_sel_ + 1 < vol->backups.size()) ++backup_sel_;
      return {};
    case Command::kBackupCreate:
      if (!vol) return {};
      return storage_target(K::kBackupCreate);
    case Command::kRestore:
    case Command::kRestoreWithManifest:
    case Command::kBackupDelete: {
      if (!vol) return {};
      if (!backup) {
        notify(vol->kind + " " + vol->name + " has no backups", true, now_ms_);
        return {};
      }
      std::string what = vol->kind + " " + vol->name;
      if (c == Command::kBackupDelete)
        return confirm("Delete backup", {"Delete backup " + backup->id + " of " + what + "?"},
                       "[Enter] Delete backup", storage_target(K::kBackupDelete));
      Request r = storage_target(K::kRestore);
      r.with_manifest = c == Command::kRestoreWithManifest;
      return confirm(r.with_manifest ? "Restore with manifest" : "Restore",
                     {"Restore " + what + " from backup " + backup->id + "?",
                      "This will replace current runtime " + vol->kind + " contents."},
                     r.with_manifest ? "[Enter] Restore with manifest" : "[Enter] Restore now",
                     r);
    }
  }
  return {};
}

}  // namespace cells::tui
