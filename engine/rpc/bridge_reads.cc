#include "engine/rpc/bridge_reads.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "backup/backup.h"
#include "engine/backups.h"
#include "engine/manifest.h"
#include "engine/reads.h"
#include "engine/rootfs_build.h"
#include "kernel/telemetry.h"
#include "store/store.h"

namespace cells::rpc {
namespace {

// One row of an engine ReadTable, looked up by field name.
class Row {
 public:
  Row(const engine::ReadTable& t, size_t i) : table_(t), row_(t.rows[i]) {}
  const engine::ReadValue* get(const std::string& field) const {
    auto it = std::find(table_.fields.begin(), table_.fields.end(), field);
    return it == table_.fields.end() ? nullptr : &row_[size_t(it - table_.fields.begin())];
  }
  std::string text(const std::string& f) const {
    auto* v = get(f);
    return v ? v->text : "";
  }
  int64_t number(const std::string& f, int64_t empty = 0) const {
    auto* v = get(f);
    return v && v->kind != engine::ReadValue::Kind::kEmpty ? v->number : empty;
  }
  bool flag(const std::string& f) const {
    auto* v = get(f);
    return v && v->flag;
  }
  double real(const std::string& f) const {
    auto* v = get(f);
    return v ? v->real : 0;
  }
  std::vector<std::string> list(const std::string& f) const { return engine::split_fields(text(f)); }

 private:
  const engine::ReadTable& table_;
  const std::vector<engine::ReadValue>& row_;
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The store opened read-only, or nullopt for a root that has none yet (reads never create one).
Result<std::optional<store::Store>> open_store(const Paths& paths) {
  auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
  if (!st) {
    if (st.error().kind() == ErrorKind::kNotFound) return std::optional<store::Store>();
    return std::move(st).error();
  }
  return std::optional<store::Store>(std::move(*st));
}

JournalRecord to_record(const store::JournalEntry& e) {
  return {e.seq,        e.time_ns,   e.operation_id,       e.kind, e.target,
          std::string(store::to_string(e.phase)), e.actor.uid, e.actor.pid, e.actor.command_line};
}

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CellTelemetry to_telemetry(const kernel::CellStats& c, int64_t now) {
  CellTelemetry t;
  t.cid = c.cid;
  t.name = c.name;
  t.cpu1s = c.cpu_ticks_1s;
  t.cpu10s = c.cpu_ticks_10s_avg;
  t.procs = c.processes;
  t.refs = c.references;
  t.rss = c.rss_bytes;
  t.vmsize = c.vmsize_bytes;
  t.supervise = std::string(kernel::to_string(c.state));
  t.health = c.health == kernel::Health::kUnknown ? "-" : std::string(kernel::to_string(c.health));
  t.restarts = c.restarts;
  t.denials.assign(std::begin(c.denials), std::end(c.denials));
  t.age_seconds = c.age_seconds(now);
  return t;
}

// The slots of STATS whose cell runs now, as telemetry rows.
std::vector<CellTelemetry> telemetry_of(const engine::ReadSnapshot& snap,
                                        const std::vector<kernel::CellStats>& stats) {
  std::vector<CellTelemetry> out;
  int64_t now = now_unix_ns();
  for (const auto& c : stats) {
    // A slot outlives its cell (cids are never reused): only running owners count.
    auto it = snap.live.find(c.name);
    if (it == snap.live.end() || !it->second.running || it->second.record->cid != c.cid) continue;
    out.push_back(to_telemetry(c, now));
  }
  return out;
}

}  // namespace

int64_t BridgeReads::generation_time(uint64_t n) {
  if (n == 0) return 0;
  if (auto it = generation_times_.find(n); it != generation_times_.end()) return it->second;
  auto st = open_store(paths_);
  if (!st || !st->has_value()) return 0;
  auto g = (*st)->generation(n);
  if (!g || !*g) return 0;
  generation_times_[n] = (**g).time_ns;
  return (**g).time_ns;
}

Result<std::vector<CellInfo>> BridgeReads::cells() {
  return CELLS_TRY(live(false)).cells;
}

Result<BridgeReads::Live> BridgeReads::live(bool with_telemetry) {
  auto snap = CELLS_TRY(engine::gather(paths_));
  auto stats = kernel::SnapshotFile::read_all(paths_);
  const std::vector<kernel::CellStats> none;
  Live out;
  out.cells = CELLS_TRY(cells_of(snap, stats ? *stats : none));
  if (with_telemetry && stats) out.telemetry = telemetry_of(snap, *stats);
  return out;
}

Result<std::vector<CellInfo>> BridgeReads::cells_of(const engine::ReadSnapshot& snap,
                                                    const std::vector<kernel::CellStats>& stats) {
  auto table = CELLS_TRY(engine::cell_table(snap, engine::View::kMerged, {}, std::nullopt));
  // Supervision state and health are the supervisor's half of the telemetry slot.
  std::map<uint32_t, const kernel::CellStats*> slots;
  for (const auto& c : stats) slots[c.cid] = &c;
  std::vector<CellInfo> out;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    Row r(table, i);
    CellInfo c;
    c.name = r.text("name");
    c.lifecycle = r.text("state");
    c.running = r.flag("running");
    c.cid = uint32_t(r.number("cid"));
    c.procs = uint32_t(r.number("procs"));
    c.refs = uint32_t(r.number("refs"));
    c.cpu1s = uint32_t(r.number("cpu1s"));
    c.cpu10s = r.real("cpu10s");
    c.memory = uint64_t(r.number("memory"));
    c.age_seconds = r.number("age", -1);
    c.autostart = r.flag("autostart");
    c.manifest = !r.text("manifest").empty();
    c.apply_present = r.flag("apply_present");
    c.profile = r.text("profile");
    c.base = r.text("base");
    for (const auto& p : r.list("reserved_ports")) c.reserved_ports.push_back(uint16_t(std::stoul(p)));
    c.rlimits = "nofile=" + r.text("rlimit_nofile") + " as=" + r.text("rlimit_as") +
                " core=" + r.text("rlimit_core");
    if (!c.manifest) c.rlimits.clear();
    c.command = r.text("supervise_cmd");
    c.run_as = r.text("supervise_run_as");
    c.depends_on = r.list("depends_on");
    c.mounts = r.list("volume_mounts");
    c.healthcheck = r.text("healthcheck");
    c.root = r.text("root");
    c.applied_generation = uint64_t(r.number("generation"));
    c.applied_time_ns = generation_time(c.applied_generation);
    c.state = c.running ? "running" : "stopped";
    if (auto it = slots.find(c.cid); c.running && it != slots.end() && it->second->name == c.name) {
      const auto& s = *it->second;
      if (s.state == kernel::SuperviseState::kBackoff || s.state == kernel::SuperviseState::kFailed) {
        c.state = std::string(kernel::to_string(s.state));
      }
      if (s.health != kernel::Health::kUnknown) c.health = std::string(kernel::to_string(s.health));
      c.restarts = s.restarts;
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<VolumeInfo>> BridgeReads::volumes() {
  auto snap = CELLS_TRY(engine::gather(paths_));
  auto table = CELLS_TRY(engine::volume_table(snap, engine::View::kMerged, {}, std::nullopt));
  std::set<std::string> declared;
  for (const auto& v : snap.desired.volumes) declared.insert(v.name);
  std::vector<VolumeInfo> out;
  for (size_t i = 0; i < table.rows.size(); ++i) {
    Row r(table, i);
    VolumeInfo v;
    v.name = r.text("name");
    v.state = r.text("state");
    v.mode = r.text("mode");
    v.path = r.text("path");
    v.mounted = r.flag("mounted");
    v.refs = uint32_t(r.number("refs"));
    v.used_by = r.list("used_by");
    v.manifest = declared.count(v.name) > 0;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<OverlayInfo>> BridgeReads::overlays() {
  auto snap = CELLS_TRY(engine::gather(paths_));
  std::set<std::string> names(snap.rendered_cells.begin(), snap.rendered_cells.end());
  std::set<std::string> declared;
  for (const auto& c : snap.desired.cells) {
    names.insert(c.name);
    declared.insert(c.name);
  }
  std::vector<OverlayInfo> out;
  for (const auto& n : names) {
    OverlayInfo o;
    o.cell = n;
    o.path = engine::cell_root_layout(paths_, n).overlay;
    o.exists = exists(o.path);
    auto live = snap.live.find(n);
    o.running = live != snap.live.end() && live->second.running;
    o.manifest = declared.count(n) > 0;
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<BackupInfo>> BridgeReads::backups(BackupKind kind, const std::string& name) {
  backup::Kind k = kind == BackupKind::kVolume ? backup::Kind::kVolume : backup::Kind::kOverlay;
  std::vector<BackupInfo> out;
  for (const auto& a : CELLS_TRY(engine::list_archives(paths_, k, name))) {
    BackupInfo i;
    i.kind = kind;
    i.name = a.name.name;
    i.file = a.name.file();
    i.path = a.path;
    i.timestamp = engine::archive_time(a.name);
    i.size = a.size;
    i.recorded = a.record.has_value();
    if (a.record) {
      i.sha256 = a.record->sha256;
      i.generation = a.record->generation;
      i.entries = a.record->entries;
      i.freeze_ns = a.record->freeze_ns;
    }
    out.push_back(std::move(i));
  }
  return out;
}

Result<std::vector<JournalRecord>> BridgeReads::journal(const std::string& cell, uint32_t limit,
                                                        uint64_t before) {
  if (limit == 0 || limit > kMaxJournalPage) {
    return Error::invalid("journal: limit " + std::to_string(limit) + " is not in 1.." +
                          std::to_string(kMaxJournalPage));
  }
  if (!cell.empty() && !engine::valid_name(cell)) {
    return Error::invalid("journal: cell name '" + cell + "' is invalid");
  }
  auto st = CELLS_TRY(open_store(paths_));
  if (!st) return std::vector<JournalRecord>{};
  // The store pages from the end; a page further back filters the whole match list.
  store::JournalFilter f{cell, "", 0, before == 0 ? size_t(limit) : 0};
  auto entries = CELLS_TRY(st->list_journal(f));
  std::vector<JournalRecord> out;
  for (const auto& e : entries) {
    if (before == 0 || e.seq < before) out.push_back(to_record(e));
  }
  if (out.size() > limit) out.erase(out.begin(), out.end() - limit);
  return out;
}

Result<std::vector<JournalRecord>> BridgeReads::journal_after(uint64_t after, size_t limit) {
  auto st = CELLS_TRY(open_store(paths_));
  std::vector<JournalRecord> out;
  if (!st) return out;
  Status walked = st->for_each_entry(after + 1, [&](const store::JournalEntry& e) -> Status {
    out.push_back(to_record(e));
    if (out.size() >= limit) return Error(ErrorKind::kBusy, "page full");
    return ok_status();
  });
  if (!walked && walked.error().message() != "page full") return std::move(walked).error();
  return out;
}

Result<uint64_t> BridgeReads::journal_head() {
  auto st = CELLS_TRY(open_store(paths_));
  if (!st) return uint64_t{0};
  return CELLS_TRY(st->journal_head()).last_seq;
}

Result<std::vector<CellTelemetry>> BridgeReads::telemetry() {
  auto snap = CELLS_TRY(engine::gather(paths_));
  return telemetry_of(snap, CELLS_TRY(kernel::SnapshotFile::read_all(paths_)));
}

}  // namespace cells::rpc
