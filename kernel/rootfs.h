// The cell's root filesystem, as seen by its init and every process spawned into it:
//   /      the caller's directory (an idmapped copy for the high profile), attached inside a
//          copy of the seed mount namespace (seed_ns.h) and entered with pivot_root, the
//          seed's root detached
//   /proc  a fresh proc of the cell's PID namespace (only the cell's processes)
//   /dev   a small tmpfs: null zero full random urandom tty bound from the host, pts (its own
//          devpts instance), ptmx -> pts/ptmx, shm (tmpfs), fd/stdin/stdout/stderr links
// The plan is built in the parent (it allocates); enter_rootfs() runs in the setup child and
// only makes system calls.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace cells::kernel {

// Steps of the setup child, reported to the parent through the status pipe on failure.
enum class SetupStep : int {
  kNone = 0,
  kSetsid,
  kEnterSeed,
  kMakePrivate,
  kAttachRoot,
  kMountProc,
  kMountDev,
  kDevNodes,
  kMountDevpts,
  kMountShm,
  kHostname,
  kPivotRoot,
  kDetachOldRoot,
  kJoinUserns,
  kDropGroups,
  kSetIds,
  kStdio,
  kExecInit,
};
const char* to_string(SetupStep s);

// The host device nodes bound into every cell's /dev (from the seed, which binds them first).
inline constexpr const char* kCellDevNodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

struct RootfsPlan {
  std::string root;
  std::string proc;     // root + "/proc"
  std::string dev;      // root + "/dev"
  std::string devpts;   // root + "/dev/pts"
  std::string devshm;   // root + "/dev/shm"
  std::string ptmx;     // root + "/dev/ptmx"
  struct Node {
    std::string host;   // "/dev/null"
    std::string target; // root + "/dev/null"
  };
  std::vector<Node> nodes;
  struct Link {
    std::string target;
    std::string path;
  };
  std::vector<Link> links;
};

RootfsPlan make_rootfs_plan(const std::string& root);

// Host-side check before anything is created: ROOT is an absolute path of a directory whose
// /proc and /dev, where present, are directories (not symlinks).
Status check_root(const std::string& root);
// Creates ROOT/proc and ROOT/dev when the prepared root lacks them (mount points are the only
// thing cells ever adds to a root; everything else under them lives on the cell's mounts).
Status ensure_mount_points(const std::string& root);

// In the setup child (a private copy of the seed mount namespace): attach TREE_FD at
// plan.root, mount /proc and /dev, pivot into it and detach the seed's root. Returns kNone, or the failed step with errno
// set.
SetupStep enter_rootfs(const RootfsPlan& plan, int tree_fd, const char* hostname);

}  // namespace cells::kernel
