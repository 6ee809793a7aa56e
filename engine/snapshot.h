// The pre-apply snapshot of a cell's writable layer (DESIGN section 8): taking it must not cost
// time proportional to the layer's size.
//
// Overlay roots (low, medium): the snapshot is the current upper layer itself. take() renames
// <cell>/overlay to <cell>/snapshot and starts a fresh, empty upper; mount_cell_root then stacks
// lowerdir=snapshot:base under it, so everything the apply writes (plan steps, EXEC, PKG, the
// service) lands in the fresh layer and the snapshot is never modified. discard() (rollback)
// drops the fresh layer and renames the snapshot back: byte for byte the old layer, with
// ownership, modes, xattrs and whiteouts, because it is the same inodes. fold() (before the next
// snapshot, with the root unmounted) moves the fresh layer's entries down into the snapshot and
// makes it the upper again: cost proportional to what changed, whiteouts and opaque
// directories moved as they are. Between a successful apply and the next one the stack stays.
//
// High profile roots (a bind of the layer, idmapped: overlayfs cannot be stacked there): take()
// copies the layer (cp -a) to <cell>/precopy, which costs time proportional to its size.
//
// Every step is a rename or a move of one entry, so each function can be re-run after a crash
// and finishes the job (recover.h).
#pragma once

#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "engine/rootfs_build.h"

namespace cells::engine::snapshot {

enum class Kind { kStacked, kCopy };

// Preconditions for all: the cell's root is not mounted.
// Folds a leftover stack (if any), then takes a new snapshot of KIND.
Status take(const CellRootLayout& l, Kind kind);
// Rollback: the layer as it was when take() ran.
Status discard(const CellRootLayout& l);
// Success: kCopy drops the copy now; kStacked keeps the stack (folded by the next take()).
Status keep(const CellRootLayout& l);
// Merges a stacked snapshot back into one upper layer; nothing to do without one.
Status fold(const CellRootLayout& l);
// True while a snapshot of either kind exists.
bool present(const CellRootLayout& l);

// "<cell>/precopy" for kCopy.
std::string precopy_dir(const CellRootLayout& l);

}  // namespace cells::engine::snapshot
