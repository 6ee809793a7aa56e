// cells-sampler: the telemetry sampler of one installation (kernel/instance_sampler.h).
// Started only by ensure_sampler(), which hands it the locked sampler.lock on fd 3, as
// `cells-sampler --root <root>`. It exits once the installation has no cell left.
#include <fcntl.h>

#include <cstdio>
#include <cstring>

#include "base/paths.h"
#include "kernel/instance_sampler.h"

int main(int argc, char** argv) {
  if (argc != 3 || std::strcmp(argv[1], "--root") != 0) {
    std::fprintf(stderr, "cells-sampler: internal program of cellctl; not for direct use\n");
    return 2;
  }
  auto paths = cells::Paths::from_root(argv[2]);
  if (!paths) {
    std::fprintf(stderr, "cells-sampler: %s\n", paths.error().message().c_str());
    return 2;
  }
  int lock_fd = ::fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  return cells::kernel::run_sampler(*paths, lock_fd);
}
