#include "tui/session.h"

#include <algorithm>

#include "tui/convert.h"

namespace cells::tui {

Result<std::unique_ptr<Session>> Session::open(rpc::ClientOptions options) {
  auto client = CELLS_TRY(rpc::Client::connect(options));
  return std::unique_ptr<Session>(new Session(std::move(options), std::move(client)));
}

std::string Session::where() const {
  if (!options_.host.empty()) return "host " + options_.host;
  return "root " + (options_.root.empty() ? std::string("/") : options_.root);
}

Status Session::refresh_cells() {
  auto cells = CELLS_TRY(client_->cells());
  snap_.cells = cell_rows(cells);
  snap_.updated = clock_now();
  return {};
}

Status Session::refresh_storage(bool backups) {
  auto volumes = CELLS_TRY(client_->volumes());
  auto overlays = CELLS_TRY(client_->overlays());
  auto rows = storage_rows(volumes, overlays);
  for (auto& row : rows) {
    if (backups) {
      auto kind = row.kind == "volume" ? rpc::BackupKind::kVolume : rpc::BackupKind::kOverlay;
      for (const auto& b : CELLS_TRY(client_->backups(kind, row.name))) row.backups.push_back(backup_row(b));
      continue;
    }
    for (const auto& old : snap_.storage)
      if (old.kind == row.kind && old.name == row.name) row.backups = old.backups;
  }
  snap_.storage = std::move(rows);
  snap_.updated = clock_now();
  if (backups) backups_stale_ = false;
  storage_stale_ = false;
  return {};
}

Result<bool> Session::catch_up() {
  if (!client_->connected() || (!storage_stale_ && !backups_stale_)) return false;
  CELLS_TRY(refresh_storage(backups_stale_));
  return true;
}

Status Session::refresh_journal() {
  snap_.journal.clear();
  for (const auto& r : CELLS_TRY(client_->journal("", kJournalKeep))) snap_.journal.push_back(journal_row(r));
  // The bridge returns the newest page; keep it oldest first like the events that follow.
  std::sort(snap_.journal.begin(), snap_.journal.end(),
            [](const JournalRow& a, const JournalRow& b) { return a.seq < b.seq; });
  return {};
}

Status Session::refresh_all() {
  CELLS_TRY(refresh_cells());
  CELLS_TRY(refresh_storage(true));
  return refresh_journal();
}

bool Session::pump(std::optional<std::string>* dropped) {
  client_->pump();
  bool changed = false;
  while (auto e = client_->next_event()) {
    switch (e->kind) {
      case rpc::Event::Kind::kCellsChanged:
        snap_.cells = cell_rows(e->cells);
        storage_stale_ = true;  // overlays and volume mounts follow their cells
        break;
      case rpc::Event::Kind::kJournalAppended:
        for (const auto& r : e->journal) {
          if (!snap_.journal.empty() && r.seq <= snap_.journal.back().seq) continue;  // seen
          snap_.journal.push_back(journal_row(r));
          if (touches_storage(r)) backups_stale_ = true;
        }
        if (snap_.journal.size() > kJournalKeep)
          snap_.journal.erase(snap_.journal.begin(),
                              snap_.journal.end() - static_cast<long>(kJournalKeep));
        break;
      case rpc::Event::Kind::kTelemetryTick:
        apply_telemetry(snap_.cells, e->telemetry);
        break;
      case rpc::Event::Kind::kDisconnected:
        *dropped = e->reason.empty() ? "the bridge exited" : e->reason;
        return true;
    }
    changed = true;
    snap_.updated = clock_now();
  }
  return changed;
}

namespace {
rpc::BackupKind kind_of(const Request& r) {
  return r.volume ? rpc::BackupKind::kVolume : rpc::BackupKind::kOverlay;
}
std::string what_of(const Request& r) { return (r.volume ? "volume " : "overlay ") + r.target; }
std::string names_text(const std::vector<std::string>& names) {
  if (names.empty()) return "nothing to do";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}
}  // namespace

Result<std::string> Session::run(const Request& r) {
  using K = Request::Kind;
  std::vector<std::string> one = {r.target};
  std::string text;
  switch (r.kind) {
    case K::kStart: text = "started " + names_text(CELLS_TRY_CTX(client_->start(one), "start " + r.target)); break;
    case K::kStop: text = "stopped " + names_text(CELLS_TRY_CTX(client_->stop(one), "stop " + r.target)); break;
    case K::kRestart:
      text = "restarted " + names_text(CELLS_TRY_CTX(client_->restart(one), "restart " + r.target));
      break;
    case K::kStartAll: text = "started " + names_text(CELLS_TRY_CTX(client_->start({}, true), "start --all")); break;
    case K::kStopAll: text = "stopped " + names_text(CELLS_TRY_CTX(client_->stop({}, true), "stop --all")); break;
    case K::kRestartAll:
      text = "restarted " + names_text(CELLS_TRY_CTX(client_->restart({}, true), "restart --all"));
      break;
    case K::kApplyAll: {
      auto a = CELLS_TRY_CTX(client_->apply({}, false), "apply --all");
      text = "apply: " + std::to_string(a.cells) + " cells, " + std::to_string(a.changed) +
             " changed, " + std::to_string(a.failed) + " failed";
      if (a.exit_code != 0) return Error::invalid(text + " (rolled back; see the journal)");
      break;
    }
    case K::kBackupCreate: {
      auto made = CELLS_TRY_CTX(client_->backup_create(kind_of(r), r.target), "backup " + what_of(r));
      text = "backup " + made.file + " of " + what_of(r) + " (" + human_bytes(made.size) + ")";
      break;
    }
    case K::kRestore: {
      auto done = CELLS_TRY_CTX(client_->backup_restore(kind_of(r), r.target, r.backup, true, r.with_manifest),
                                "restore " + what_of(r));
      text = "restored " + what_of(r) + " from " + done.file +
             (done.manifest_generation ? " with its manifest" : "");
      break;
    }
    case K::kBackupDelete:
      CELLS_TRY_CTX(client_->backup_delete(kind_of(r), r.target, r.backup), "delete backup " + r.backup);
      text = "deleted backup " + r.backup + " of " + what_of(r);
      break;
    case K::kRefresh:
      CELLS_TRY(refresh_all());
      return std::string("refreshed");
    default: return std::string();
  }
  // The bridge pushes the change too; reading it here as well means the screen is right even
  // before that event is pumped.
  if (r.kind == K::kBackupCreate || r.kind == K::kRestore || r.kind == K::kBackupDelete)
    CELLS_TRY(refresh_storage(true));
  else
    CELLS_TRY(refresh_cells());
  return text;
}

Result<std::vector<std::string>> Session::shell_argv(const std::string& cell) {
  return client_->shell_command(cell);
}

Status Session::reconnect() {
  CELLS_TRY(client_->reconnect());
  return refresh_all();
}

}  // namespace cells::tui
