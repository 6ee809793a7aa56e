// The pre-apply snapshot of a cell's writable layer (DESIGN section 8): taking it must not cost
// time proportional to the layer's size.
//
// Every profile: the snapshot is the current writable layer itself. take() renames
// <cell>/overlay to <cell>/snapshot and starts a fresh, empty upper; mount_cell_root then stacks
// the snapshot under it (low, medium: lowerdir=snapshot:base; high: an overlay of the idmapped
// snapshot and layer, kernel/mapped_root.h), so everything the apply writes (plan steps, EXEC, PKG, the
// service) lands in the fresh layer and the snapshot is never modified. discard() (rollback)
// drops the fresh layer and renames the snapshot back: byte for byte the old layer, with
// ownership, modes, xattrs and whiteouts, because it is the same inodes. fold() (before the next
// snapshot, with the root unmounted) moves the fresh layer's entries down into the snapshot and
// makes it the upper again: cost proportional to what changed, whiteouts and opaque
// directories moved as they are. Between a successful apply and the next one the stack stays.
//
// Every step is a rename or a move of one entry, so each function can be re-run after a crash
// and finishes the job (recover.h).
#pragma once

#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "engine/rootfs_build.h"

namespace cells::engine::snapshot {

// Preconditions for all: the cell's root is not mounted.
// Folds a leftover stack (if any), then takes a new snapshot.
Status take(const CellRootLayout& l);
// Rollback: the layer as it was when take() ran.
Status discard(const CellRootLayout& l);
// Merges a stacked snapshot back into one upper layer; nothing to do without one. A successful
// apply keeps the stack: the next take() folds it.
Status fold(const CellRootLayout& l);
// True while a snapshot exists.
bool present(const CellRootLayout& l);

}  // namespace cells::engine::snapshot
