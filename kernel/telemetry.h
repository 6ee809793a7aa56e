// Per-cell telemetry (DESIGN section 10): the once-per-second sampler and the snapshot file
// every reader (cellctl list/stats, cellmgr, cellui) scrapes.
//
// The snapshot is one file, <run_dir>/telemetry/cells.slots: a 64-byte header, then one
// fixed-size 1 KiB slot per cell at offset header + (cid - 1) * slot size (cids are never
// reused, so a slot has one owner for ever and no allocation or locking is needed). Two writers
// share a slot and never the same bytes: the instance's sampler (instance_sampler.h, once per
// second) writes the sample part and the denial part, the supervisor the supervision part.
// Each part is written with one pwrite and carries the same sequence number at its start and
// at its end; a reader that copies a part while it is being written sees the two differ and
// re-reads it. A scrape of any number of cells is therefore one pread of the whole file, with
// no process walks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"

namespace cells::kernel {

enum class SuperviseState : uint32_t { kNone = 0, kRunning = 1, kBackoff = 2, kFailed = 3,
                                       kStopped = 4 };
std::string_view to_string(SuperviseState s);  // "-", "running", "backoff", "failed", "stopped"

// Health of a supervised service with a healthcheck (supervise.h, health.h); kUnknown when
// no healthcheck is configured (or nothing supervises the cell).
enum class Health : uint32_t { kUnknown = 0, kUp = 1, kDown = 2 };
std::string_view to_string(Health h);

inline constexpr int kDenialKindCount = 4;  // bind, sysctl, device, socket (bpf_policy.h)

// One cell's snapshot as readers see it.
struct CellStats {
  uint32_t cid = 0;
  std::string name;
  std::string root;
  int64_t created_unix_ns = 0;
  int64_t sampled_unix_ns = 0;  // 0 = never sampled
  uint32_t cpu_ticks_1s = 0;    // 1/100 s of CPU used in the last second
  double cpu_ticks_10s_avg = 0; // mean of the last (up to) 10 one-second values
  uint32_t processes = 0;
  uint32_t references = 0;      // processes plus zombies
  uint64_t vmsize_bytes = 0;
  uint64_t rss_bytes = 0;
  // Denial counters of the cell's policy (the sampler's denial part; supervisors older than
  // that part published them with their state).
  uint64_t denials[kDenialKindCount] = {};
  // Supervision part.
  SuperviseState state = SuperviseState::kNone;
  Health health = Health::kUnknown;
  uint64_t restarts = 0;
  pid_t supervisor_pid = 0;

  // Age in whole seconds at NOW_UNIX_NS (0 if the creation time is unknown or in the future).
  int64_t age_seconds(int64_t now_unix_ns) const;
};

// The snapshot file of one installation.
class SnapshotFile {
 public:
  static constexpr uint32_t kSlotSize = 1024;
  static constexpr size_t kMaxName = 63;
  static constexpr size_t kMaxRoot = 511;  // longer roots are cut (labels only)

  static std::string path(const Paths& paths);
  // Opens (creating the file and its directory if needed) for writing one cell's slot.
  static Result<SnapshotFile> open_rw(const Paths& paths);

  // Reads every slot in use, in cid order. A missing file means no cells (empty result).
  static Result<std::vector<CellStats>> read_all(const Paths& paths);
  // Decodes a whole file image (exposed for tests and the benchmark).
  static Result<std::vector<CellStats>> decode(std::string_view image);

  int fd() const { return fd_.get(); }

  // Writes the identity of a new cell (cid, name, root, creation time) with zeroed counters;
  // Runtime::create calls it before starting init, and the sampler finds the cell there.
  Status publish_identity(uint32_t cid, std::string_view name, std::string_view root,
                          int64_t created_unix_ns);
  // Reads every slot in use through this file's fd (read_all without opening the file).
  Result<std::vector<CellStats>> read_all() const;

  // Writes the sample part of STATS' slot (identity, counters, memory).
  Status write_sample(const CellStats& stats);
  // Writes the denial part of STATS' slot (STATS.denials).
  Status write_denials(const CellStats& stats);
  // Writes the supervision part (state, restarts, supervisor pid, health).
  Status write_supervision(uint32_t cid, SuperviseState state, uint64_t restarts,
                           pid_t supervisor_pid, Health health);
  // Zeroes the slot (cell destroyed).
  Status clear(uint32_t cid);

 private:
  explicit SnapshotFile(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// The sampler of one cell, run once per second by the instance's sampler (instance_sampler.h).
// It keeps the cgroup's cpu.stat open and walks PROC_DIR, a /proc that shows exactly the cell's
// processes (the procfs of the cell's PID namespace), for process, zombie and memory counts.
class CellSampler {
 public:
  struct Identity {
    uint32_t cid = 0;
    std::string name;
    std::string root;
    int64_t created_unix_ns = 0;
  };

  // CGROUP_DIR_FD and PROC_DIR_FD are borrowed only during open (duplicated). The sampler
  // publishes into PATHS' snapshot file.
  static Result<CellSampler> open(const Paths& paths, int cgroup_dir_fd, int proc_dir_fd,
                                  Identity id);
  // The same without a file of its own: the caller publishes last() (the instance sampler
  // shares one file among all its cells).
  static Result<CellSampler> open_unpublished(int cgroup_dir_fd, int proc_dir_fd, Identity id);

  // Takes one sample into last(). The first one only sets the CPU baseline.
  Status sample();
  // sample(), then publishes it to the sampler's own file (kInvalid without one).
  Status tick();

  const CellStats& last() const { return stats_; }
  CellStats& last() { return stats_; }
  // Whether the cell's cgroup directory still exists (false once the cell is destroyed).
  bool still_exists() const;

 private:
  CellSampler(std::optional<SnapshotFile> file, Fd cgroup_dir, Fd cpu_stat, Fd proc_dir,
              Identity id);
  Result<uint64_t> read_usage_usec();
  Status walk_processes();

  std::optional<SnapshotFile> file_;
  Fd cgroup_dir_;
  Fd cpu_stat_;
  Fd proc_dir_;
  CellStats stats_;
  bool have_baseline_ = false;
  uint64_t last_usage_usec_ = 0;
  uint64_t usage_remainder_usec_ = 0;  // sub-tick CPU carried to the next second
  uint32_t ring_[10] = {};
  uint32_t ring_len_ = 0;
  uint32_t ring_pos_ = 0;
};

}  // namespace cells::kernel
