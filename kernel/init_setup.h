// Starting a cell's init (parent side and the setup child). See init.h for what init does
// once running, rootfs.h for the filesystem it sees, userns.h for the high profile.
//
// The setup child is created by clone3(CLONE_INTO_CGROUP | CLONE_NEWPID | CLONE_NEWUTS |
// CLONE_NEWIPC | CLONE_NEWCGROUP | CLONE_PIDFD): it is in the cell's cgroup from birth and
// PID 1 of the new PID namespace. It unshares its mount namespace from the seed's (seed_ns.h),
// not the host's. As host root it builds the root filesystem,
// then (high) joins the pre-made user namespace and becomes its root, and finally execs the
// init program from an fd opened on the host. A failure before the exec is written to a
// CLOEXEC status pipe as one fixed-size record {step, errno}; a successful exec closes the
// pipe, so the parent reads either a record or EOF.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/result.h"
#include "kernel/landlock.h"

namespace cells::kernel {

// One record on a status pipe: a step (a SetupStep, or a spawn step) and its errno.
struct StatusRecord {
  int32_t step = 0;
  int32_t err = 0;
};

struct InitLaunch {
  std::string name;
  uint32_t cid = 0;
  std::string root;
  int cgroup_fd = -1;   // the cell's cgroup directory
  int seed_fd = -1;     // the seed mount namespace (ensure_seed_mount_ns)
  int tree_fd = -1;     // detached mount tree of the root (idmapped for high)
  int userns_fd = -1;   // high: the cell's user namespace; -1 otherwise
  std::string program;  // path of the init program (cells-init)
  // The cell's Landlock domain, entered by init (cell_spawner.h); null = init stays outside
  // any domain and gets no spawn channel.
  const LandlockPlan* landlock = nullptr;
};

struct LaunchedInit {
  pid_t pid = -1;
  Fd pidfd;
};

// The init program to exec: $CELLS_INIT_PROGRAM, else the one installed with the running
// program (installed_helper_path), else the one built with this library, else
// /usr/libexec/cells/cells-init. kNotFound naming the paths tried.
Result<std::string> find_init_program();

Result<LaunchedInit> launch_init(const InitLaunch& launch);

}  // namespace cells::kernel
