// Root filesystems of cells (DESIGN section 6): the read-only base layers built by
// `cellmgr system bootstrap`, and each cell's root, an overlay of its base with the cell's own
// writable layer and its volumes bind-mounted on top.
//
//   <base>/<name>/         read-only base layer; `.cells-base` marks a finished build
//   <cells>/<c>/overlay    the cell's writable layer (persists across stop/start)
//   <cells>/<c>/work       overlayfs work directory
//   <cells>/<c>/root       mount point handed to kernel::Runtime::create
#pragma once

#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "kernel/userns.h"

namespace cells::engine {

inline constexpr const char* kBaseMarker = ".cells-base";

// True once base NAME has been built completely.
bool base_ready(const Paths& paths, const std::string& name);

// Builds the `host` base: an empty /usr (the host's /usr is bind-mounted read-only on it at
// cell start), the merged-usr links, the usual empty top-level directories, and a minimal
// /etc template (passwd and group with root and nobody, hosts, resolv.conf copied from the
// host, nsswitch.conf, hostname). Nothing else of the host: no shadow, /root, /home, ssh keys
// or /var. Built in a temporary directory and renamed into place. Returns false when the base
// existed already (nothing changed).
Result<bool> build_host_base(const Paths& paths);

// Builds the `debian` base with `debootstrap --variant=minbase SUITE <tmp> MIRROR`, then
// renames it into place. Returns false when it existed already.
Result<bool> build_debian_base(const Paths& paths, const HostConfig& conf);

// One bind mount of a cell: a volume directory or a host path, at TARGET inside the cell.
struct BindSpec {
  std::string source;  // absolute host path
  std::string target;  // absolute path inside the cell
  bool read_only = false;
};

struct CellRootLayout {
  std::string cell_dir, overlay, work, root;
  // The pre-apply layer (engine/snapshot.h). While it exists, an overlay root stacks it between
  // the base and OVERLAY: lowerdir=snapshot:base.
  std::string snapshot;
};
CellRootLayout cell_root_layout(const Paths& paths, const std::string& cell);

// How the writable layer is put over the base.
//   kOverlay: overlayfs (lowerdir=base, upperdir=overlay, workdir=work) on root.
//   kCopyUp:  for the high profile, whose root is seen through the cell's user namespace
//             (idmapped). The base is not a layer: on first use the writable layer gets a copy
//             of the base's top level except /usr, and the base's /usr is bound read-only on
//             top. The root is built here with the ids already mapped (IDS must be given, the
//             range of the cell's cid): the layer is an idmapped bind, or, while a pre-apply
//             snapshot exists, an overlay of the idmapped snapshot and layer
//             (kernel/mapped_root.h); /usr and BINDS are idmapped binds. The runtime must not
//             map the tree again (kernel::CellSpec::root_mapped), and host-side writes into the
//             mounted root need CellRoot's id base.
enum class RootMode { kOverlay, kCopyUp };

// Mounts the cell's root: the writable layer (see RootMode; a stacked snapshot goes between
// it and the base), the host /usr read-only for the `host` base, then BINDS (created inside
// the root through openat2(RESOLVE_IN_ROOT), so a symlink the cell planted cannot redirect a
// mount onto the host). On first use the layer gets the base's /etc template and the cell's
// hostname; /tmp is 1777. On failure everything mounted so far is unmounted again.
Status mount_cell_root(const Paths& paths, const std::string& cell, const std::string& base,
                       const std::vector<BindSpec>& binds, RootMode mode = RootMode::kOverlay,
                       const kernel::IdRange* ids = nullptr);

// Unmounts everything at or below the cell's root, deepest first (umount2 with MNT_DETACH
// only for a mount that stays busy). Nothing mounted is fine.
Status unmount_cell_root(const Paths& paths, const std::string& cell);

// rm -rf PATH without crossing into mounts (refuses if anything below is still mounted).
Status remove_tree(const std::string& path);

}  // namespace cells::engine
