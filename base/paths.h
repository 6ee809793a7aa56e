// cells::Paths: every on-disk and kernel location of one cells installation (DESIGN section 4).
//
// Everything lives under one root prefix ("/" by default, --root DIR or CELLS_ROOT otherwise),
// so tests and benchmarks never touch the host's real configuration. Kernel objects that are
// host-global (the cgroup tree, bpffs pins) are namespaced by an *instance* name derived from
// the root: "cells" for "/", "cells-<8 hex digits of a hash of the root>" for any other root,
// so two scratch roots can run side by side without seeing each other's cells.
#pragma once

#include <string>

#include "base/result.h"

namespace cells {

struct Paths {
  std::string root;  // absolute, no trailing slash except for "/" itself

  // Builds the paths for ROOT: an absolute path, or empty for "$CELLS_ROOT or /".
  // The directory does not need to exist yet.
  static Result<Paths> from_root(std::string root);

  // "/etc/cellmgr" under the root, and so on for each place of DESIGN section 4.
  std::string under(const std::string& rel) const;  // rel starts with '/'
  std::string etc_dir() const { return under("/etc/cellmgr"); }
  std::string state_dir() const { return under("/var/lib/cellmgr/state"); }
  std::string lib_dir() const { return under("/var/lib/cellmgr"); }
  std::string base_dir() const { return under("/var/lib/cellmgr/base"); }
  std::string cells_dir() const { return under("/var/lib/cellmgr/cells"); }
  std::string volumes_dir() const { return under("/var/lib/cellmgr/volumes"); }
  std::string backups_dir() const { return under("/var/backups/cellmgr"); }
  std::string run_dir() const { return under("/run/cellmgr"); }

  // "cells" or "cells-1a2b3c4d"; names the cgroup parent and the bpffs pin directory.
  std::string instance() const;
  // /sys/fs/cgroup/unified/<instance> (cgroup v2 hierarchy; see kernel/README.md).
  std::string cgroup_parent() const;
  // /sys/fs/bpf/<instance>
  std::string bpf_pin_dir() const;
};

}  // namespace cells
