// The per-cell init: PID 1 of the cell's PID namespace, host-visible in ps as
// `cellctl init cell=<name> cid=<id>`.
//
// It is a separate, statically linked program (kernel/programs/cells_init.cc) that the setup
// child (init_setup.h) execs from an fd as the very last step, after pivot_root, so it needs
// nothing from the cell's root and shows a clean argv on the host. Its whole job:
//   - reap every process re-parented to it (orphans of the cell), so zombies never pile up;
//   - exit when host root sends SIGTERM, which makes the kernel SIGKILL the rest of the cell
//     (a PID namespace dies with its init). SIGTERM from inside the cell is ignored: the
//     sender's pid is visible in our namespace only when it comes from inside;
//   - tick once per second for telemetry (InitSampler).
// It is non-dumpable, so processes of the cell cannot ptrace it or read its memory.
#pragma once

#include <cstdint>
#include <string>

namespace cells::kernel {

// Inherited descriptor numbers (set up by the setup child before exec).
inline constexpr int kInitCgroupFd = 3;  // O_DIRECTORY fd of the cell's cgroup (host view)
inline constexpr int kInitSnapshotFd = 4;  // telemetry snapshot file (telemetry.h), if open

struct InitContext {
  std::string name;
  uint32_t cid = 0;
  int cgroup_fd = kInitCgroupFd;
};

// telemetry: the once-per-second hook. The telemetry engineer implements this and creates it
// in kernel/programs/cells_init.cc; tick() runs on init's only thread and must not block long.
class InitSampler {
 public:
  virtual ~InitSampler() = default;
  virtual void tick() = 0;
};

// Parses `cell=<name> cid=<id>` from argv[2..]; false if either is missing or malformed.
bool parse_init_args(int argc, char** argv, InitContext* ctx);

// The PID 1 loop. Returns the exit code when the host asks init to stop (0), or a non-zero
// code if its own setup (signalfd, timerfd) fails. SAMPLER may be null.
int run_init_loop(const InitContext& ctx, InitSampler* sampler);

}  // namespace cells::kernel
