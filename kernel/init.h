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
//   - fork the processes the host asks for through the spawn channel (cell_spawner.h).
// It wakes only for these: telemetry is sampled from the host (instance_sampler.h), because a
// cell reading its own cgroup's cpu.stat costs time in proportion to the number of cells
// (decision 78).
// It is non-dumpable, so processes of the cell cannot ptrace it or read its memory.
#pragma once

#include <cstdint>
#include <string>

namespace cells::kernel {

// Inherited descriptor numbers (set up by the setup child before exec).
inline constexpr int kInitCgroupFd = 3;  // O_DIRECTORY fd of the cell's cgroup (host view)

struct InitContext {
  std::string name;
  uint32_t cid = 0;
  int cgroup_fd = kInitCgroupFd;
};

// Parses `cell=<name> cid=<id>` from argv[2..]; false if either is missing or malformed.
bool parse_init_args(int argc, char** argv, InitContext* ctx);

// The PID 1 loop. Returns the exit code when the host asks init to stop (0), or a non-zero
// code if its own setup (signals, signalfd) fails.
int run_init_loop(const InitContext& ctx);

}  // namespace cells::kernel
