// cells-supervise: the daemon of `cellctl supervise` (cli/cellctl/supervise_daemon.h), as a
// small static program: started only by cellctl, which execs it as
// `cellctl supervise cell=<name> cid=<id>` with the spec in an inherited memfd.
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>

#include "cli/cellctl/supervise_daemon.h"

int main() {
  if (std::getenv(cells::cellctl::kSpecFdEnv) == nullptr ||
      std::getenv(cells::cellctl::kReadyFdEnv) == nullptr) {
    std::fprintf(stderr, "cells-supervise: internal program of cellctl supervise; not for direct use\n");
    return 2;
  }
  // ps -o comm shows the program's file name otherwise; operators look for cellctl.
  ::prctl(PR_SET_NAME, "cellctl", 0, 0, 0);
  return cells::cellctl::run_supervise_daemon("");
}
