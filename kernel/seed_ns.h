// The seed mount namespace: the small namespace every cell's own mount namespace is copied
// from (decision 75).
//
// A cell's init used to get its mount namespace from clone3(CLONE_NEWNS), a copy of the host's.
// On a host running 1,000 cells that namespace holds over 2,000 cell mounts, and copying them
// and then detaching them again after pivot_root cost ~8 ms per start. The seed holds only a
// tmpfs root with the device nodes a cell's /dev binds (/dev/null, ...) and an empty directory
// to attach the cell's root to, so the setup child joins it, unshares a private copy of those
// few mounts and builds the cell's root there.
//
// The seed outlives the process that made it: its nsfs file is bind-mounted at
// <run>/ns/mnt-seed. A mount namespace file cannot be bound onto a shared mount (EINVAL), so
// <run>/ns is first bound onto itself and made private. Both mounts and the namespace go away
// with release_seed_mount_ns(), which system reset calls once no cell is left.
#pragma once

#include <string>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"

namespace cells::kernel {

// Where a cell's root is attached inside its copy of the seed (the setup child pivots into it).
inline constexpr const char* kSeedCellDir = "/cell";

// The pin of PATHS's seed: <run>/ns/mnt-seed.
std::string seed_pin_path(const Paths& paths);

// Opens the seed mount namespace, creating and pinning it first when it is missing (a pin left
// half made by a killed process is finished). Callers serialise creation with the registry
// lock. Errors: kSystem naming the step that failed.
Result<Fd> ensure_seed_mount_ns(const Paths& paths);

// Unpins the seed and removes <run>/ns with its own bind mount. Cells already running keep
// their own namespaces; the next create makes a new seed. Returns whether there was anything
// to remove (nothing is not an error).
Result<bool> release_seed_mount_ns(const Paths& paths);

// Joins the seed SEED_FD and unshares a private copy of it, for the setup child of a cell
// (single-threaded: setns refuses a mount namespace to a threaded caller). Returns 0 or -1 with
// errno, so it is async-signal-safe.
int enter_seed_copy(int seed_fd);

}  // namespace cells::kernel
