// cells-init: PID 1 of a cell (see kernel/init.h). Started only by Runtime::create, which
// execs it as `cellctl init cell=<name> cid=<id>` after building the cell's root.
#include <unistd.h>

#include <cstdio>

#include <fcntl.h>

#include <memory>

#include <cstring>

#include "kernel/cell_spawner.h"
#include "kernel/init.h"
#include "kernel/telemetry.h"

int main(int argc, char** argv) {
  cells::kernel::InitContext ctx;
  if (getpid() != 1 || !cells::kernel::parse_init_args(argc, argv, &ctx)) {
    std::fprintf(stderr, "cells-init: internal program of cellctl create; not for direct use\n");
    return 2;
  }
  // telemetry: sample into the inherited snapshot file, reading this cell's own /proc (which
  // shows exactly the cell's processes). Without a snapshot fd init still runs, unsampled.
  std::unique_ptr<cells::kernel::InitSampler> sampler;
  if (fcntl(cells::kernel::kInitSnapshotFd, F_GETFD) >= 0) {
    int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    auto s = cells::kernel::CellSampler::open_inherited(cells::kernel::kInitSnapshotFd,
                                                        ctx.cgroup_fd, proc, ctx.cid);
    if (proc >= 0) close(proc);
    if (s.ok()) sampler = std::make_unique<cells::kernel::CellInitSampler>(std::move(s).value());
  }
  // The cell's one Landlock domain, entered after the sampler has opened what it reads from
  // outside the cell's writable paths; every process init forks inherits it.
  if (int err = cells::kernel::init_enter_landlock(); err != 0) {
    std::fprintf(stderr, "cells-init: landlock: %s\n", std::strerror(err));
    return 3;
  }
  return cells::kernel::run_init_loop(ctx, sampler.get());
}
