// CellCgroup: one cell's cgroup v2 directory, the cell's kernel identity (DESIGN section 3).
//
// The cgroup id that BPF programs see (bpf_get_current_cgroup_id) is the directory's inode
// number. The object owns an O_DIRECTORY fd of the directory, which clone3(CLONE_INTO_CGROUP)
// takes, and never removes the directory on its own: removal is an explicit step of destroy
// (or of create's rollback), because the directory outlives every process that opens it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace cells::kernel {

class CellCgroup {
 public:
  // mkdir PARENT (on demand) and PARENT/NAME. kExists if the cell directory exists already.
  static Result<CellCgroup> create(const std::string& parent, const std::string& name);
  // Opens an existing directory; kNotFound when it is absent.
  static Result<CellCgroup> open(const std::string& parent, const std::string& name);
  static bool exists(const std::string& parent, const std::string& name);
  // The cgroup id (directory inode) of PARENT/NAME by one stat, nullopt when it is not there:
  // what a reader compares with a recorded id without opening the directory.
  static std::optional<uint64_t> id_of(const std::string& parent, const std::string& name);
  // The ids of every cell cgroup under PARENT (name -> id) from one read of the directory, for
  // readers that check all cells: kernfs reports a directory's inode number as its entry's
  // d_ino, so this is id_of for each name without a stat per cell. Empty when PARENT is absent.
  static Result<std::map<std::string, uint64_t>> ids_under(const std::string& parent);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  uint64_t id() const { return id_; }

  // Host pids of the processes in the cell (cgroup.procs of the directory itself: cells have
  // no sub-cgroups because cgroupfs is not mounted inside them).
  Result<std::vector<pid_t>> pids() const;
  Result<bool> populated() const;
  // Writes 1 to cgroup.kill: SIGKILL to every process, including ones that setsid and ignore
  // SIGTERM, with no pid-reuse race.
  Status kill() const;
  // Waits until cgroup.events reports populated 0 (poll on the file, no busy loop).
  Status wait_empty(std::chrono::milliseconds timeout) const;
  // rmdir; retried briefly because the kernel drops exiting tasks from the cgroup
  // asynchronously after populated turns 0.
  Status remove() const;

 private:
  CellCgroup(std::string path, Fd fd, uint64_t id)
      : path_(std::move(path)), fd_(std::move(fd)), id_(id) {}
  std::string path_;
  Fd fd_;
  uint64_t id_ = 0;
};

}  // namespace cells::kernel
