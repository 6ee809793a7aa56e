#include "tui/model.h"

#include <cstdio>

#include "engine/reads.h"

namespace cells::tui {

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::kCells: return "cells";
    case Mode::kStorage: return "storage";
    case Mode::kJournal: return "journal";
  }
  return "?";
}

const char* filter_name(CellFilter f) {
  switch (f) {
    case CellFilter::kAll: return "all";
    case CellFilter::kRunning: return "running";
    case CellFilter::kStopped: return "stopped";
  }
  return "?";
}

CellFilter next_filter(CellFilter f) {
  switch (f) {
    case CellFilter::kAll: return CellFilter::kRunning;
    case CellFilter::kRunning: return CellFilter::kStopped;
    case CellFilter::kStopped: return CellFilter::kAll;
  }
  return CellFilter::kAll;
}

bool passes(const CellRow& c, CellFilter f) {
  switch (f) {
    case CellFilter::kAll: return true;
    case CellFilter::kRunning: return c.running;
    case CellFilter::kStopped: return !c.running;
  }
  return true;
}

std::string status_text(const Snapshot& s, Mode m, CellFilter filter,
                        const std::string& journal_cell) {
  switch (m) {
    case Mode::kCells: {
      size_t running = 0, orphans = 0;
      for (const auto& c : s.cells) running += c.running, orphans += !c.manifest;
      return "cells: " + std::to_string(s.cells.size()) + "  running: " + std::to_string(running) +
             "  missing-manifest: " + std::to_string(orphans) + "  filter: " + filter_name(filter);
    }
    case Mode::kStorage: {
      size_t volumes = 0, overlays = 0, ready = 0, backups = 0;
      for (const auto& v : s.storage) {
        (v.kind == "volume" ? volumes : overlays)++;
        ready += v.runtime;  // data exists, so a backup can be made
        backups += v.backups.size();
      }
      return "storage: " + std::to_string(s.storage.size()) + "  volumes: " +
             std::to_string(volumes) + "  overlays: " + std::to_string(overlays) +
             "  backup-ready: " + std::to_string(ready) + "  backups: " + std::to_string(backups);
    }
    case Mode::kJournal:
      return "entries: " + std::to_string(visible_journal(s, journal_cell).size()) +
             "  cell: " + (journal_cell.empty() ? std::string("all") : journal_cell);
  }
  return "";
}

std::vector<const CellRow*> visible_cells(const Snapshot& s, CellFilter f) {
  std::vector<const CellRow*> out;
  for (const auto& c : s.cells)
    if (passes(c, f)) out.push_back(&c);
  return out;
}

std::vector<const JournalRow*> visible_journal(const Snapshot& s, const std::string& cell) {
  std::vector<const JournalRow*> out;
  // Newest first: the audit trail is read from the latest change backwards.
  for (auto it = s.journal.rbegin(); it != s.journal.rend(); ++it)
    if (cell.empty() || it->cell == cell) out.push_back(&*it);
  return out;
}

namespace {
std::string yes_no(bool b) { return b ? "yes" : "no"; }
std::string dash_if_empty(const std::string& s) { return s.empty() ? "-" : s; }
}  // namespace

TextTable cell_table(const std::vector<const CellRow*>& rows) {
  TextTable t{{"NAME", "STATE", "CID", "PROCS", "CPU1S", "CPU10S", "AGE", "AUTOSTART", "HEALTH"},
              {}};
  for (const CellRow* c : rows) {
    char cpu10[32];
    std::snprintf(cpu10, sizeof cpu10, "%.1f", c->cpu10s);
    t.rows.push_back({(c->manifest ? "" : "!") + c->name, !c->state.empty() ? c->state : c->running ? "running" : "stopped",
                      c->cid ? std::to_string(c->cid) : "-",
                      c->running ? std::to_string(c->procs) : "-",
                      c->running ? std::to_string(c->cpu1s) : "-", c->running ? cpu10 : "-",
                      c->age_s ? engine::humanise_age(*c->age_s) : "-", yes_no(c->autostart),
                      dash_if_empty(c->health)});
  }
  return t;
}

TextTable storage_table(const std::vector<StorageRow>& rows) {
  TextTable t{{"NAME", "KIND", "MANIFEST", "RUNTIME", "ACTIVE", "REFS", "MODE", "BACKUPS"}, {}};
  for (const auto& v : rows)
    t.rows.push_back({v.name, v.kind, yes_no(v.manifest), yes_no(v.runtime), yes_no(v.active),
                      std::to_string(v.refs), dash_if_empty(v.mode),
                      std::to_string(v.backups.size())});
  return t;
}

TextTable journal_table(const std::vector<const JournalRow*>& rows) {
  TextTable t{{"SEQ", "TIME", "OP", "KIND", "TARGET", "SUMMARY"}, {}};
  for (const JournalRow* j : rows)
    t.rows.push_back({std::to_string(j->seq), j->time, dash_if_empty(j->op), j->kind,
                      dash_if_empty(j->target), j->summary});
  return t;
}

std::vector<std::string> cell_detail(const CellRow& c) {
  return {
      "manifest:   " + (c.manifest ? std::string("present") : std::string("missing (ORPHAN)")),
      "profile:    " + dash_if_empty(c.profile),
      "ports:      " + dash_if_empty(c.ports),
      "command:    " + dash_if_empty(c.command),
      "mounts:     " + dash_if_empty(c.mounts),
      "rlimits:    " + dash_if_empty(c.rlimits),
      "last apply: " + dash_if_empty(c.last_apply),
  };
}

std::vector<std::string> storage_detail(const StorageRow& v, size_t backup_index) {
  std::vector<std::string> out = {
      "path:    " + dash_if_empty(v.path),
      "used by: " + dash_if_empty(v.used_by),
      "backups: " + std::to_string(v.backups.size()) +
          (v.backups.empty() ? "" : "  ([ ] or <- -> select, b backup, r restore, d delete)"),
  };
  for (size_t i = 0; i < v.backups.size(); ++i) {
    const auto& b = v.backups[i];
    out.push_back(std::string(i == backup_index ? "> " : "  ") + b.id + "  " + b.created + "  " +
                  human_bytes(b.bytes));
  }
  return out;
}

std::string human_bytes(uint64_t n) {
  static const char* kUnits[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(n));
  else
    std::snprintf(buf, sizeof buf, "%.1f%s", v, kUnits[u]);
  return buf;
}

}  // namespace cells::tui
