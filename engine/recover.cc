#include "engine/recover.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "backup/backup.h"
#include "base/files.h"
#include "engine/backups.h"
#include "engine/drift.h"
#include "engine/mount_table.h"
#include "engine/preimage.h"
#include "engine/snapshot.h"
#include "engine/volumes.h"
#include "kernel/cell.h"
#include "kernel/supervise.h"

namespace cells::engine {
namespace {

bool is_apply_kind(const std::string& k) { return k == "apply" || k == "rollback"; }

// What an interrupted operation had done to one cell, from its journal entries.
struct CellProgress {
  bool started = false, finished = false;  // apply.cell intent / done|failed|compensated
  bool fold_open = false, snapshot = false;
  uint64_t old_generation = 0;
  bool was_running = false;
  bool live = false;  // changed under its running service (apply.h), undone from its pre-image
};

}  // namespace

Status roll_back_cell(const Paths& paths, store::Store& st, store::Operation& op,
                      const DesiredSet& set, const std::string& name, bool was_running,
                      const std::optional<CellManifest>& old_manifest, uint64_t old_generation,
                      const LifecycleConfig& cfg) {
  const std::string target = "cell/" + name;
  const auto layout = cell_root_layout(paths, name);
  // Step 1: whatever the apply started stops (service, kernel cell, mounts of the new root).
  auto rt = CELLS_TRY(kernel::Runtime::open(paths));
  bool mounted = !mounts_below(layout.root).value_or(std::vector<std::string>{}).empty();
  if (rt.find(name) || mounted) CELLS_TRY(stop_cell_in(st, op, paths, set.conf, name));
  // Step 2: the layer as it was (only now: nothing has it mounted).
  CELLS_TRY(snapshot::discard(layout));
  // Step 3: the previous service and policy, from the previous generation's manifest.
  if (was_running && old_manifest) {
    CELLS_TRY(start_cell_in(st, op, paths, set, *old_manifest, cfg));
  }
  if (auto rec = CELLS_TRY(st.runtime(name)); rec && rec->applied_generation != old_generation) {
    rec->applied_generation = old_generation;
    CELLS_TRY(op.put_runtime(*rec));
  }
  CELLS_TRY(op.append({"apply.cell", target, store::Phase::kCompensated, "",
                       std::to_string(old_generation)}));
  return ok_status();
}

Status roll_back_live_cell(const Paths& paths, store::Store& st, store::Operation& op,
                           const DesiredSet& set, const std::string& name,
                           const std::optional<CellManifest>& old_manifest,
                           uint64_t old_generation, uint64_t operation,
                           const LifecycleConfig& cfg) {
  const std::string pre_path = preimage_path(cell_root_layout(paths, name));
  auto pre = CELLS_TRY(load_preimage(pre_path));
  if (pre && pre->operation != operation) pre.reset();  // an older crash's; not this one's
  auto rt = CELLS_TRY(kernel::Runtime::open(paths));
  const bool running = rt.find(name).ok();
  if (!running && !old_manifest) {
    return Error::not_found("cell " + name + ": no manifest of generation " +
                            std::to_string(old_generation) + " to start it with");
  }
  if (pre) {
    // Step 1: a root to restore into. Stopped since (a reboot): mounted again, no service yet.
    if (!running) CELLS_TRY(start_cell_in(st, op, paths, set, *old_manifest, cfg, /*with_service=*/false));
    // Step 2: the files as they were, then the service reads them again.
    auto root = CELLS_TRY(open_running_root(paths, name));
    CELLS_TRY(restore_preimage(root, *pre));
    if (running) {
      CELLS_TRY_CTX(kernel::reload_supervisor(paths, name, std::chrono::seconds(10)), "reload");
    } else {
      CELLS_TRY(start_service_in(st, op, paths, set, *old_manifest, cfg));
    }
  } else if (!running) {
    CELLS_TRY(start_cell_in(st, op, paths, set, *old_manifest, cfg));
  }
  CELLS_TRY(drop_preimage(pre_path));
  if (auto rec = CELLS_TRY(st.runtime(name)); rec && rec->applied_generation != old_generation) {
    rec->applied_generation = old_generation;
    CELLS_TRY(op.put_runtime(*rec));
  }
  CELLS_TRY(op.append({"apply.cell", "cell/" + name, store::Phase::kCompensated, "",
                       std::to_string(old_generation)}));
  return ok_status();
}

std::string inflight_path(const Paths& paths) { return paths.lib_dir() + "/apply.inflight"; }

namespace {

// A backup or restore killed mid-way left partial archives, restore staging or frozen cells;
// backup/ cleans them up (under the writer lock) when the journal shows one unfinished, and
// closes it, so this runs once per killed operation. The read-only store is closed first:
// LMDB allows one open environment per process.
Status recover_backups(const Paths& paths) {
  {
    auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
    if (!st) return st.error().kind() == ErrorKind::kNotFound ? ok_status() : Status(std::move(st).error());
    auto open_ops = CELLS_TRY(st->incomplete_operations());
    if (std::none_of(open_ops.begin(), open_ops.end(), [](const store::IncompleteOperation& o) {
          return o.intent.kind == "backup.create" || o.intent.kind == "backup.restore";
        })) {
      return ok_status();
    }
  }
  auto b = CELLS_TRY(backup::Backups::open(paths));
  CELLS_TRY(b.recover());
  return ok_status();
}

Result<std::vector<uint64_t>> recover_apply(const Paths& paths, const LifecycleConfig& cfg,
                                            const std::function<void(const std::string&)>& say) {
  std::vector<uint64_t> done;
  auto marker = read_file(inflight_path(paths));
  if (!marker) return done;  // no apply was in flight
  const uint64_t id = std::strtoull(marker->c_str(), nullptr, 10);

  // Under the writer lock: a running apply makes this kBusy, so only a dead one is recovered.
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
  auto op = CELLS_TRY(st.begin_operation("recover", "operation/" + std::to_string(id)));
  auto entries = CELLS_TRY(st.operation_entries(id));
  bool finished = false;
  for (const auto& e : entries) {
    finished = finished || (is_apply_kind(e.kind) && e.target == "cells" && e.phase != store::Phase::kIntent);
  }
  if (finished || entries.empty()) {
    // It ended (or never started acting) before the marker went away.
    CELLS_TRY(remove_tree(inflight_path(paths)));
    return done;
  }
  const std::string ids = std::to_string(id);
  CELLS_TRY(op.append({"recover", "operation/" + ids, store::Phase::kIntent, ids, ""}));
  DesiredSet set = load_desired(paths.etc_dir());
  std::map<std::string, CellProgress> cells;
  for (const auto& e : entries) {
    if (e.target.rfind("cell/", 0) != 0) continue;
    auto& c = cells[e.target.substr(5)];
    if (e.kind == "apply.cell" && e.phase == store::Phase::kIntent) {
      c.started = true;
      std::istringstream in(e.before);
      std::string state;
      in >> c.old_generation >> state;
      c.live = state == "live";
      c.was_running = state == "running" || c.live;
    } else if (e.kind == "apply.cell") {
      c.finished = true;
    } else if (e.kind == "apply.fold") {
      c.fold_open = e.phase == store::Phase::kIntent;
    } else if (e.kind == "apply.snapshot" && e.phase == store::Phase::kIntent) {
      c.snapshot = true;
    }
  }
  // Cells the apply finished stay at the new generation (each passed its healthcheck); the
  // one it was working on goes back to the old one. Either way each cell is wholly at one.
  auto stop_if_up = [&](const std::string& name) -> Status {
    auto rt = CELLS_TRY(kernel::Runtime::open(paths));
    auto l = cell_root_layout(paths, name);
    if (rt.find(name) || !mounts_below(l.root).value_or(std::vector<std::string>{}).empty()) {
      CELLS_TRY(stop_cell_in(st, op, paths, set.conf, name));
    }
    return ok_status();
  };
  for (auto it = cells.rbegin(); it != cells.rend(); ++it) {
    const auto& [name, c] = *it;
    if (!c.started || c.finished) continue;
    const auto layout = cell_root_layout(paths, name);
    if (c.fold_open) {
      CELLS_TRY(stop_if_up(name));
      CELLS_TRY(snapshot::fold(layout));
    }
    auto old = CELLS_TRY(manifest_in_generation(st, c.old_generation, name));
    if (c.live) {
      CELLS_TRY(roll_back_live_cell(paths, st, op, set, name, old, c.old_generation, id, cfg));
    } else if (c.snapshot) {
      CELLS_TRY(roll_back_cell(paths, st, op, set, name, c.was_running, old, c.old_generation, cfg));
    } else {
      // The layer was not touched; only the service goes back, and the record names the old
      // generation again (a start records the current one).
      CELLS_TRY(stop_if_up(name));
      if (c.was_running && old) CELLS_TRY(start_cell_in(st, op, paths, set, *old, cfg));
      if (auto rec = CELLS_TRY(st.runtime(name)); rec && rec->applied_generation != c.old_generation) {
        rec->applied_generation = c.old_generation;
        CELLS_TRY(op.put_runtime(*rec));
      }
      CELLS_TRY(op.append({"apply.cell", "cell/" + name, store::Phase::kCompensated, "",
                           std::to_string(c.old_generation)}));
    }
    say("recovered cell " + name + ": back at generation " + std::to_string(c.old_generation));
  }
  CELLS_TRY(op.append({"recover", "operation/" + ids, store::Phase::kCompensated, ids, ""}));
  // The killed apply gets its outcome in its own name, so the journal stops counting it as
  // interrupted. It is not open when it was killed right after an outcome (kInvalid).
  auto closed = op.close_abandoned(id, {entries.front().kind, "cells", store::Phase::kCompensated,
                                        "", "recovered by operation " + std::to_string(op.id())});
  if (!closed && closed.error().kind() != ErrorKind::kInvalid) return std::move(closed).error();
  CELLS_TRY(remove_tree(inflight_path(paths)));
  done.push_back(id);
  return done;
}

}  // namespace

Result<std::vector<uint64_t>> recover(const Paths& paths, const LifecycleConfig& cfg,
                                      const std::function<void(const std::string&)>& say) {
  // Step 1: an interrupted apply (it may stop and start cells).
  auto done = CELLS_TRY(recover_apply(paths, cfg, say));
  // Step 2: backup leftovers, so that data is wholly old or new before cells use it again.
  CELLS_TRY(recover_backups(paths));
  // Step 3: cells a killed `restore --stop` left stopped start again on that data.
  CELLS_TRY(restart_cells_left_stopped(paths, cfg));
  // Step 4: data of removed volumes whose removal was killed half-way.
  CELLS_TRY(sweep_volume_tombstones(paths));
  return done;
}

}  // namespace cells::engine
