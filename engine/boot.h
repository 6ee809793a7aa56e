// `cellmgr apply --boot` (issue 12): brings the declared cells back after a reboot. A reboot
// takes the cgroups, BPF pins, mounts, processes and /run/cellmgr with it, while the store,
// the manifests and the cells' layers remain. One journaled operation "boot", under the
// writer lock:
//   1. an apply a crash interrupted is recovered first (recover.h);
//   2. a new boot is recognised: the kernel's boot id differs from the one recorded in
//      <run>/boot_id, or there is no record (a reboot clears /run);
//   3. every runtime record that says "started" although its cgroup is gone is stale and is
//      discarded (the record says stopped again), one "boot.discard" entry per cell;
//   4. the kernel programs are reloaded when their pins are gone (BpfPolicy::ensure_loaded);
//   5. the autostart cells, and what they depend on, start in dependency order from the layer
//      last applied (mounted again, plans are not re-run), each checked by its healthcheck;
//      a cell that fails does not stop the others, only the cells that depend on it.
// The same steps run on the same boot: stale records are discarded and stopped autostart cells
// start. Manifest edits are not applied; that is plain apply's job.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"
#include "engine/manifest.h"

namespace cells::engine {

// The boot id of the running kernel, /proc/sys/kernel/random/boot_id, trimmed.
// $CELLS_BOOT_ID_FILE names another file to read it from: for tests only, which simulate a
// reboot of a scratch root by changing it.
Result<std::string> current_boot_id();

// "<run>/boot_id": the boot id apply --boot last ran in.
std::string boot_id_path(const Paths& paths);

// What apply --boot does with one cell, decided before anything starts.
enum class BootAction {
  kStart,       // autostart (or needed by one) and not running
  kRunning,     // running already: left alone
  kStayStopped  // no autostart and nothing that starts depends on it
};

struct BootStep {
  std::string cell;
  BootAction action = BootAction::kStayStopped;
  std::vector<std::string> needed_by;  // autostart cells that made a kStart of a non-autostart cell
};

// Every cell of SET in dependency order with its action, RUNNING being the cells that run now.
// Errors: a dependency cycle (kInvalid naming it).
Result<std::vector<BootStep>> boot_plan(const DesiredSet& set, const std::set<std::string>& running);

struct BootOutcome {
  int exit_code = 0;  // 0 every autostart cell runs, 1 some failed or were skipped
  bool new_boot = false;
  size_t discarded = 0, started = 0, running = 0, stopped = 0, failed = 0;
  uint64_t operation_id = 0;
};

// Runs steps 1-5. SAY gets one line per cell ("cell NAME: ..."), plus a header and a summary.
// Errors are refusals before anything changed (invalid manifests, busy store, no store yet);
// a cell that fails to start is an outcome with exit_code 1.
Result<BootOutcome> boot(const Paths& paths, const LifecycleConfig& cfg,
                         const std::function<void(const std::string&)>& say);

}  // namespace cells::engine
