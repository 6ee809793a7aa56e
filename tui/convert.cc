#include "tui/convert.h"

#include <algorithm>
#include <ctime>

namespace cells::tui {

namespace {
std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}
std::string none_if_dash(const std::string& s) { return s == "-" ? "" : s; }
}  // namespace

std::string local_time(int64_t ns) {
  time_t t = static_cast<time_t>(ns / 1000000000);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string clock_now() {
  time_t t = time(nullptr);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[16];
  strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

CellRow cell_row(const rpc::CellInfo& c) {
  CellRow r;
  r.name = c.name;
  r.manifest = c.manifest;
  r.running = c.running;
  r.state = c.state;
  r.cid = c.cid;
  r.procs = c.procs;
  r.cpu1s = c.cpu1s;
  r.cpu10s = c.cpu10s;
  if (c.running && c.age_seconds >= 0) r.age_s = c.age_seconds;
  r.autostart = c.autostart;
  r.health = none_if_dash(c.health);
  r.profile = c.profile + (c.base.empty() ? "" : " (base " + c.base + ")");
  std::vector<std::string> ports;
  for (uint16_t p : c.reserved_ports) ports.push_back(std::to_string(p));
  r.ports = join(ports, ",");
  r.command = c.command + (c.run_as.empty() ? "" : " (as " + c.run_as + ")");
  r.mounts = join(c.mounts, ", ");
  r.rlimits = c.rlimits;
  if (c.applied_generation)
    r.last_apply = "generation " + std::to_string(c.applied_generation) +
                   (c.applied_time_ns ? " at " + local_time(c.applied_time_ns) : "");
  return r;
}

std::vector<CellRow> cell_rows(const std::vector<rpc::CellInfo>& cells) {
  std::vector<CellRow> out;
  out.reserve(cells.size());
  for (const auto& c : cells) out.push_back(cell_row(c));
  std::sort(out.begin(), out.end(), [](const CellRow& a, const CellRow& b) { return a.name < b.name; });
  return out;
}

void apply_telemetry(std::vector<CellRow>& rows, const std::vector<rpc::CellTelemetry>& ticks) {
  for (const auto& t : ticks) {
    auto it = std::find_if(rows.begin(), rows.end(), [&](const CellRow& r) { return r.name == t.name; });
    // Only a cell the last cell list showed running: a tick racing a stop must not revive it.
    if (it == rows.end() || !it->running) continue;
    it->cpu1s = t.cpu1s;
    it->cpu10s = t.cpu10s;
    it->procs = t.procs;
    it->age_s = t.age_seconds;
    it->health = none_if_dash(t.health);
  }
}

StorageRow storage_row(const rpc::VolumeInfo& v) {
  StorageRow r;
  r.name = v.name;
  r.kind = "volume";
  r.manifest = v.manifest;
  r.runtime = v.state == "managed" || v.state == "orphaned";  // the data directory exists
  r.active = v.mounted;
  r.refs = v.refs;
  r.mode = v.mode;
  r.path = v.path;
  r.used_by = join(v.used_by, ", ");
  return r;
}

StorageRow storage_row(const rpc::OverlayInfo& o) {
  StorageRow r;
  r.name = o.cell;
  r.kind = "overlay";
  r.manifest = o.manifest;
  r.runtime = o.exists;
  r.active = o.running;
  r.refs = o.running ? 1 : 0;
  r.mode = "rw";
  r.path = o.path;
  r.used_by = o.cell;
  return r;
}

BackupRow backup_row(const rpc::BackupInfo& b) { return {b.file, b.timestamp, b.size}; }

std::vector<StorageRow> storage_rows(const std::vector<rpc::VolumeInfo>& volumes,
                                     const std::vector<rpc::OverlayInfo>& overlays) {
  std::vector<StorageRow> v, o;
  for (const auto& x : volumes) v.push_back(storage_row(x));
  for (const auto& x : overlays) o.push_back(storage_row(x));
  auto by_name = [](const StorageRow& a, const StorageRow& b) { return a.name < b.name; };
  std::sort(v.begin(), v.end(), by_name);
  std::sort(o.begin(), o.end(), by_name);
  v.insert(v.end(), o.begin(), o.end());
  return v;
}

JournalRow journal_row(const rpc::JournalRecord& r) {
  JournalRow j;
  j.seq = r.seq;
  j.time = local_time(r.time_ns);
  j.op = r.operation ? "op-" + std::to_string(r.operation) : "";
  j.kind = r.kind;
  j.target = r.target;
  if (r.target.rfind("cell/", 0) == 0) j.cell = r.target.substr(5);
  j.summary = r.phase;
  if (!r.actor_command.empty())
    j.summary += " by " + r.actor_command + " (uid " + std::to_string(r.actor_uid) + ")";
  return j;
}

bool touches_storage(const rpc::JournalRecord& r) {
  return r.kind.rfind("backup.", 0) == 0 || r.kind.rfind("volume.", 0) == 0 ||
         r.kind.rfind("cell.create", 0) == 0 || r.kind.rfind("cell.remove", 0) == 0;
}

}  // namespace cells::tui
