// Per-cell telemetry (DESIGN section 10): the once-per-second sampler and the snapshot file
// every reader (cellctl list/stats, cellmgr, cellui) scrapes.
//
// The snapshot is one file, <run_dir>/telemetry/cells.slots: a 64-byte header, then one
// fixed-size 1 KiB slot per cell at offset header + (cid - 1) * slot size (cids are never
// reused, so a slot has one owner for ever and no allocation or locking is needed). Two writers
// share a slot and never the same bytes: the sampler (the cell's init, once per second) writes
// the sample half, the supervisor the supervision half. Each half is written with one pwrite
// and carries the same sequence number at its start and at its end; a reader that copies a
// half while it is being written sees the two differ and re-reads it. A scrape of any number of
// cells is therefore one pread of the whole file, with no process walks.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"
#include "kernel/init.h"

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
  // Supervision half (the supervisor runs on the host as root and can read the BPF denial
  // counters; init, inside the cell's policy, cannot).
  uint64_t denials[kDenialKindCount] = {};
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

  // Adopts an fd opened by open_rw() in another process (the cell's init inherits one).
  static Result<SnapshotFile> from_fd(Fd fd);
  int fd() const { return fd_.get(); }

  // Writes the identity of a new cell (cid, name, root, creation time) with zeroed counters;
  // Runtime::create calls it before starting init, whose sampler takes the identity from there.
  Status publish_identity(uint32_t cid, std::string_view name, std::string_view root,
                          int64_t created_unix_ns);
  // Reads back the sample half of CID's slot (kNotFound if the slot is empty).
  Result<CellStats> read_slot(uint32_t cid) const;

  // Writes the sample half of STATS' slot (identity, counters, memory).
  Status write_sample(const CellStats& stats);
  // Writes the supervision half (state, restarts, supervisor pid, health, denials).
  Status write_supervision(uint32_t cid, SuperviseState state, uint64_t restarts,
                           pid_t supervisor_pid, Health health,
                           const uint64_t (&denials)[kDenialKindCount]);
  Status write_supervision(uint32_t cid, SuperviseState state, uint64_t restarts,
                           pid_t supervisor_pid, Health health) {
    const uint64_t none[kDenialKindCount] = {};
    return write_supervision(cid, state, restarts, supervisor_pid, health, none);
  }
  // Zeroes the slot (cell destroyed).
  Status clear(uint32_t cid);

 private:
  explicit SnapshotFile(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// The sampler of one cell. The cell's init calls tick() from its one-second timerfd; it keeps
// the cgroup's cpu.stat open and walks PROC_DIR, a /proc that shows exactly the cell's
// processes (init's own /proc: the cell's PID namespace), for process, zombie and memory
// counts.
class CellSampler {
 public:
  struct Identity {
    uint32_t cid = 0;
    std::string name;
    std::string root;
    int64_t created_unix_ns = 0;
  };

  // CGROUP_DIR_FD and PROC_DIR_FD are borrowed only during open (duplicated).
  static Result<CellSampler> open(const Paths& paths, int cgroup_dir_fd, int proc_dir_fd,
                                  Identity id);

  // For the cell's init, after pivot_root: SNAPSHOT_FD is the inherited snapshot file (owned
  // from here on), PROC_DIR_FD the cell's own /proc; the identity comes from the cell's slot,
  // written by Runtime::create.
  static Result<CellSampler> open_inherited(int snapshot_fd, int cgroup_dir_fd, int proc_dir_fd,
                                            uint32_t cid);

  // Takes one sample and publishes it. The first tick only sets the CPU baseline.
  Status tick();

  const CellStats& last() const { return stats_; }

 private:
  CellSampler(SnapshotFile file, Fd cpu_stat, Fd proc_dir, Identity id);
  Result<uint64_t> read_usage_usec();
  Status walk_processes();

  SnapshotFile file_;
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

// The hook the cell's init calls once per second (kernel/init.h).
class CellInitSampler : public InitSampler {
 public:
  explicit CellInitSampler(CellSampler sampler) : sampler_(std::move(sampler)) {}
  // A failed sample (a process vanishing mid-read is not one) is skipped; the next second
  // tries again, and readers see the age of the last one in sampled_unix_ns.
  void tick() override { (void)sampler_.tick(); }

 private:
  CellSampler sampler_;
};

}  // namespace cells::kernel
