// cells-init: PID 1 of a cell (see kernel/init.h). Started only by Runtime::create, which
// execs it as `cellctl init cell=<name> cid=<id>` after building the cell's root.
#include <unistd.h>

#include <cstdio>

#include <cstring>

#include "kernel/cell_spawner.h"
#include "kernel/init.h"

int main(int argc, char** argv) {
  cells::kernel::InitContext ctx;
  if (getpid() != 1 || !cells::kernel::parse_init_args(argc, argv, &ctx)) {
    std::fprintf(stderr, "cells-init: internal program of cellctl create; not for direct use\n");
    return 2;
  }
  // The cell's one Landlock domain; every process init forks inherits it.
  if (int err = cells::kernel::init_enter_landlock(); err != 0) {
    std::fprintf(stderr, "cells-init: landlock: %s\n", std::strerror(err));
    return 3;
  }
  return cells::kernel::run_init_loop(ctx);
}
