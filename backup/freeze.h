// CgroupFreeze: the cells that use a volume or overlay are frozen (cgroup v2 cgroup.freeze)
// while it is read, so the archive is a point-in-time image. The destructor thaws, so every
// exit path (an error mid-backup included) leaves the cells running again.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/result.h"

namespace cells::backup {

class CgroupFreeze {
 public:
  // Writes 1 to <cg>/cgroup.freeze for each cgroup directory in CGROUPS, then waits until each
  // <cg>/cgroup.events says "frozen 1" (inotify on the file: the kernel signals every change of
  // cgroup.events as a modification). On any failure the cgroups frozen so far are thawed.
  // Errors: kNotFound for a cgroup without cgroup.freeze, kBusy when a cgroup does not report
  // frozen within TIMEOUT, kSystem.
  static Result<CgroupFreeze> freeze(const std::vector<std::string>& cgroups,
                                     std::chrono::milliseconds timeout);

  CgroupFreeze(CgroupFreeze&& other) noexcept;
  CgroupFreeze& operator=(CgroupFreeze&& other) noexcept;
  CgroupFreeze(const CgroupFreeze&) = delete;
  CgroupFreeze& operator=(const CgroupFreeze&) = delete;
  ~CgroupFreeze() { thaw(); }

  // Thaws now (idempotent) and returns how long the cgroups were frozen (from the first write
  // of 1 to the last write of 0). A thaw that fails is retried by nobody: the write of "0" to
  // a cgroup that still exists does not fail in practice, and a removed cgroup has no tasks.
  std::chrono::nanoseconds thaw();

  std::chrono::nanoseconds frozen_for() const { return frozen_for_; }

  // Recovery: thaws CGROUPS that a backup killed while it held them frozen left behind (its
  // destructor never ran). Cgroups that are gone are skipped.
  static void thaw_left(const std::vector<std::string>& cgroups);

 private:
  CgroupFreeze() = default;
  std::vector<std::string> frozen_;  // cgroup directories written with 1, not yet thawed
  std::chrono::steady_clock::time_point since_{};
  std::chrono::nanoseconds frozen_for_{0};
};

// Reads <cgroup>/cgroup.events and returns the value of KEY ("frozen", "populated").
Result<int> cgroup_event(const std::string& cgroup, const std::string& key);

}  // namespace cells::backup
