// Plain C++ values of the RPC bridge (engine/rpc/cells.capnp documents every field): what the
// server gathers and what cells::rpc::Client returns. No Cap'n Proto or kj types here, so the
// TUI includes only standard headers through client.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cells::rpc {

struct Version {
  uint32_t major = 0, minor = 0;
};

struct CellInfo {
  std::string name;
  std::string state;      // "running", "stopped", "backoff", "failed"
  std::string lifecycle;  // managed, parked, pending, declared, orphaned, absent
  bool running = false;
  uint32_t cid = 0;  // 0 when not running
  uint32_t procs = 0, refs = 0, cpu1s = 0;
  double cpu10s = 0;
  uint64_t memory = 0;
  int64_t age_seconds = -1;  // -1 when not running
  bool autostart = false;
  std::string health = "-";  // "up", "down", "-"
  bool manifest = false;     // false: orphaned runtime state (the reference shows "!NAME")
  bool apply_present = false;
  std::string profile, base;
  std::vector<uint16_t> reserved_ports;
  std::string rlimits;  // "nofile=N as=N core=N"
  std::string command, run_as;
  std::vector<std::string> depends_on;
  std::vector<std::string> mounts;  // "www:/var/www:rw", "host:/srv:/srv:ro"
  std::string healthcheck, root;
  uint64_t applied_generation = 0;
  int64_t applied_time_ns = 0;
  uint64_t restarts = 0;
  bool operator==(const CellInfo&) const = default;
};

struct VolumeInfo {
  std::string name, state, mode, path;
  bool mounted = false;
  uint32_t refs = 0;
  std::vector<std::string> used_by;
  bool manifest = false;
  bool operator==(const VolumeInfo&) const = default;
};

// A cell's writable layer.
struct OverlayInfo {
  std::string cell, path;
  bool exists = false, running = false, manifest = false;
  bool operator==(const OverlayInfo&) const = default;
};

enum class BackupKind { kVolume, kOverlay };

struct BackupInfo {
  BackupKind kind = BackupKind::kVolume;
  std::string name, file, path, timestamp;
  uint64_t size = 0;
  bool recorded = false;
  std::string sha256;
  uint64_t generation = 0, entries = 0;
  int64_t freeze_ns = 0;
  bool operator==(const BackupInfo&) const = default;
};

struct JournalRecord {
  uint64_t seq = 0;
  int64_t time_ns = 0;
  uint64_t operation = 0;
  std::string kind, target, phase;
  uint32_t actor_uid = 0;
  int32_t actor_pid = 0;
  std::string actor_command;
  bool operator==(const JournalRecord&) const = default;
};

struct CellTelemetry {
  uint32_t cid = 0;
  std::string name;
  uint32_t cpu1s = 0;
  double cpu10s = 0;
  uint32_t procs = 0, refs = 0;
  uint64_t rss = 0, vmsize = 0;
  std::string supervise = "-", health = "-";
  uint64_t restarts = 0;
  std::vector<uint64_t> denials;  // bind, sysctl, device, socket
  int64_t age_seconds = 0;
  bool operator==(const CellTelemetry&) const = default;
};

struct ApplyResult {
  int32_t exit_code = 0;  // 0 converged, 1 failed (rolled back), 2 dry-run found drift
  uint32_t cells = 0, changed = 0, failed = 0;
  uint64_t operation = 0, generation = 0;
  std::string text;  // the lines `cellmgr apply` prints
  bool operator==(const ApplyResult&) const = default;
};

struct BackupMade {
  std::string file, path;
  uint64_t size = 0, entries = 0;
  std::string sha256;
  std::vector<std::string> frozen_cells;
  int64_t freeze_ns = 0;
  bool operator==(const BackupMade&) const = default;
};

struct RestoreDone {
  std::string file;
  uint64_t entries = 0, data_bytes = 0;
  uint64_t manifest_generation = 0;  // 0: data only
  bool operator==(const RestoreDone&) const = default;
};

// What the bridge pushes (and the client's own kDisconnected when the transport drops).
struct Event {
  enum class Kind { kCellsChanged, kJournalAppended, kTelemetryTick, kDisconnected };
  Kind kind = Kind::kCellsChanged;
  std::vector<CellInfo> cells;             // kCellsChanged: every cell
  std::vector<JournalRecord> journal;      // kJournalAppended: the new entries, oldest first
  std::vector<CellTelemetry> telemetry;    // kTelemetryTick: running cells
  std::string reason;                      // kDisconnected: why
};

}  // namespace cells::rpc
