// The telemetry sampler of one installation instance (DESIGN section 10, decision 78).
//
// One host process, cells-sampler, samples every cell of the instance once per second into
// the snapshot file (telemetry.h). Each cell used to sample itself from its init, and that cost
// time in proportion to the number of cells, twice over:
//   - reading a cgroup's cpu.stat flushes its rstat counters, and the kernel unlinks the cgroup
//     from its parent's per-CPU list of updated children by walking that list. Every cell that
//     ran since its own last flush is on it, so at 1,000 cells each read walked ~1,000 entries
//     (about 150 us here, against 9 us with one cell);
//   - 1,000 inits and 1,000 supervisors (which published the denial counters) woke every
//     second: 11 to 14% of this 2-core machine with every cell idle.
// The sampler reads the instance cgroup's cpu.stat first, which flushes every cell in one pass
// over the lists, so each cell's read after it finds nothing to walk; it reads the denial
// counters too, so supervisors no longer wake on a timer.
//
// Lifecycle: the sampler holds an exclusive flock on <run>/telemetry/sampler.lock for as long as
// it runs, so a free lock means no sampler, and writes its pid into it. ensure_sampler()
// (called by Runtime::create and by each supervisor as it starts) takes the lock and hands it
// to a new sampler, so two callers cannot both start one. The sampler exits when a round finds
// no cell: it releases the lock and looks once more, so a cell created meanwhile either is
// seen or finds the lock free.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"
#include "kernel/bpf_policy.h"
#include "kernel/telemetry.h"

namespace cells::kernel {

class InstanceSampler {
 public:
  static Result<InstanceSampler> open(const Paths& paths);

  // One round: flushes the instance's counters, picks up new cells and forgets destroyed ones
  // (from the snapshot's identities and the registry), then samples and publishes each cell.
  // Returns the number of live cells, sampled or not (a cell whose record is not written yet is
  // not live; one that cannot be opened is retried next round).
  Result<size_t> tick();

  // Cells currently being sampled (tests).
  size_t tracked() const { return cells_.size(); }

 private:
  InstanceSampler(Paths paths, SnapshotFile file)
      : paths_(std::move(paths)), file_(std::move(file)) {}
  // Opens the sampler of the cell in slot IDENTITY: its cgroup, and the procfs of its PID
  // namespace through its init. kNotFound while the cell has no registry record.
  Result<CellSampler> open_cell(const CellStats& identity) const;

  Paths paths_;
  SnapshotFile file_;
  Fd instance_cpu_stat_;  // opened by the first round that finds the instance's cgroup
  std::optional<BpfPolicy> bpf_;
  // By cid; each sampler's last() holds the identity it was opened for.
  std::map<uint32_t, CellSampler> cells_;
};

// The sampler program: $CELLS_SAMPLER_PROGRAM, the one installed with the running program, the
// one built with this library, or /usr/libexec/cells/cells-sampler (find_helper_program).
Result<std::string> find_sampler_program();

// <run>/telemetry/sampler.lock of PATHS.
std::string sampler_lock_path(const Paths& paths);

// Starts PATHS' sampler unless one holds the lock; true when this call started it. The
// sampler runs detached (its own session, stdio on /dev/null) and outlives the caller.
Result<bool> ensure_sampler(const Paths& paths);

// Stops PATHS' sampler (SIGTERM, then SIGKILL after 5 s) and waits until its lock is free; true
// when one ran. For `system reset`, which leaves no process of the installation behind: a
// sampler would otherwise leave on its own only at its next round.
Result<bool> stop_sampler(const Paths& paths);

// The sampler's main loop, for cells-sampler: LOCK_FD is the locked sampler.lock it was handed
// (or -1: it takes the lock itself, and returns 0 at once when another sampler holds it).
// Returns 0 once no cell is left, non-zero when it cannot run.
int run_sampler(const Paths& paths, int lock_fd);

}  // namespace cells::kernel
