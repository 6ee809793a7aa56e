// Removal of a whole directory tree by directory fds: every unlink is relative to its parent's
// fd and takes the type from the directory entry, so a tree of N entries costs about N unlinks
// and no path walks or stats. A restore removes the replaced tree (thousands of files) before
// it returns, so this is on its critical path; std::filesystem::remove_all stats every entry
// and resolves every full path again.
#pragma once

#include <string>

#include "base/result.h"

namespace cells::backup {

// Removes PATH and everything below it; symlinks are removed, never followed, and mounts
// (other filesystems or bind mounts) are never entered: a mount point at or below PATH stops
// the removal with kBusy naming it, its content untouched. A missing PATH is not an error.
// Errors name the entry that could not be removed.
Status remove_tree(const std::string& path);

// Removes PATH in a detached process (double fork, own session, idle I/O priority, stdio on
// /dev/null) and returns as soon as that process has closed the descriptors it inherited. It
// keeps only LOCK_FD, whose flock it holds until it is done (so a recovery sweep can tell a
// tree being removed from one a crash left behind); every other descriptor of the caller is
// closed in it before this returns, above all the store's writer lock.
// Errors: only the pipe and fork (kSystem); the removal's own errors are the process's.
Status remove_tree_detached(const std::string& path, int lock_fd);

}  // namespace cells::backup
