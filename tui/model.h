// The view model: what cellui shows, as plain values filled from the bridge's replies. The
// screen is drawn from these structs only, so layout and text are testable without a bridge
// or a terminal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cells::tui {

enum class Mode { kCells, kStorage, kJournal };
inline constexpr int kModeCount = 3;
const char* mode_name(Mode m);

struct CellRow {
  std::string name;
  bool manifest = true;  // false: an orphan (runtime state without a manifest)
  bool running = false;
  std::string state;  // running, stopped, or the supervisor's backoff / failed
  uint32_t cid = 0;  // 0 when not created in the kernel
  uint32_t procs = 0, cpu1s = 0;
  double cpu10s = 0;
  std::optional<int64_t> age_s;  // seconds since start; empty when stopped
  bool autostart = false;
  std::string health;  // "up", "down", "failed", or empty without a check
  // Detail panel.
  std::string profile, ports, command, mounts, rlimits, last_apply;
};

struct BackupRow {
  std::string id;
  std::string created;  // as the bridge formats it (UTC)
  uint64_t bytes = 0;
};

struct StorageRow {
  std::string name;
  std::string kind;  // "volume" or "overlay"
  bool manifest = false, runtime = false, active = false;
  uint32_t refs = 0;
  std::string mode, path, used_by;
  std::vector<BackupRow> backups;  // newest first
};

struct JournalRow {
  uint64_t seq = 0;
  std::string time, op, kind, target, summary;
  std::string cell;  // the cell the entry is about (target "cell/NAME"), or empty
};

struct Snapshot {
  std::vector<CellRow> cells;
  std::vector<StorageRow> storage;
  std::vector<JournalRow> journal;  // oldest first
  std::string updated;              // HH:MM:SS of the last refresh
};

// Cell mode's filter, cycled with `f`.
enum class CellFilter { kAll, kRunning, kStopped };
const char* filter_name(CellFilter f);
CellFilter next_filter(CellFilter f);
bool passes(const CellRow& c, CellFilter f);

// The status bar's left part, per mode (anchor-cells.md section 6), e.g.
// "cells: 3  running: 1  missing-manifest: 0  filter: all".
std::string status_text(const Snapshot& s, Mode m, CellFilter filter,
                        const std::string& journal_cell);

// A table: headers and rows of already formatted text. Column widths come from layout.h.
struct TextTable {
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;
};
// The rows of each mode's table, after filtering, in display order.
std::vector<const CellRow*> visible_cells(const Snapshot& s, CellFilter f);
std::vector<const JournalRow*> visible_journal(const Snapshot& s, const std::string& cell);
TextTable cell_table(const std::vector<const CellRow*>& rows);
TextTable storage_table(const std::vector<StorageRow>& rows);
TextTable journal_table(const std::vector<const JournalRow*>& rows);
// Detail panel lines for the selected row (labels aligned, values cut by the renderer).
std::vector<std::string> cell_detail(const CellRow& c);
std::vector<std::string> storage_detail(const StorageRow& v, size_t backup_index);

// "1.2K", "3.4M" style sizes for the backup list.
std::string human_bytes(uint64_t n);

}  // namespace cells::tui
