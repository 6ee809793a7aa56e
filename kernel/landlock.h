// Landlock half of the cell policy: IPC scoping for every profile, and for the high profile a
// filesystem allow-list (read+exec everywhere, write only beneath the writable paths) and a TCP
// bind allow-list (the cell's reserved ports only).
//
// Split between parent and child: the ruleset (handled rights, scopes, port rules) is built in
// the parent before fork; the filesystem rules are added in the child by landlock_enter(),
// because their paths must resolve in the cell's mount namespace after pivot_root (the cell's
// "/" is an overlay the parent may not even see). Landlock keys rules on inodes, so resolving
// them anywhere else would grant nothing, or the wrong thing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace cells::kernel {

// Oldest ABI the policy accepts: 6 brings LANDLOCK_SCOPE_SIGNAL and ..._ABSTRACT_UNIX_SOCKET,
// which every profile needs (4 would do for the high profile's port rules).
inline constexpr int kLandlockMinAbi = 6;

// The Landlock ABI version of the running kernel, or kUnsupported naming what is missing.
Result<int> landlock_abi();

struct LandlockOptions {
  bool restrict_fs = false;           // high: read+exec everywhere, write beneath `writable`
  bool restrict_bind = false;         // high: TCP bind only on `bind_ports`
  std::vector<uint16_t> bind_ports;   // 1..65535
  std::vector<std::string> writable;  // absolute paths in the cell's view
};

// Everything landlock_enter() needs, owned, so the child allocates nothing.
struct LandlockPlan {
  Fd ruleset;
  bool restrict_fs = false;
  uint64_t read_access = 0;   // granted beneath "/"
  uint64_t write_access = 0;  // granted beneath each writable path
  std::vector<std::string> writable;
};

// The default writable set of the high profile: scratch dirs and the device nodes a service
// legitimately writes to.
std::vector<std::string> default_writable_paths();

// Validates OPTIONS (absolute, normalised paths; non-zero ports) and builds the ruleset.
Result<LandlockPlan> build_landlock(const LandlockOptions& options);

// In the child, after pivot_root and NO_NEW_PRIVS: adds the filesystem rules and restricts the
// calling thread. Returns 0 or an errno. Async-signal-safe (system calls only, no allocation).
// Writable paths that do not exist in the cell are skipped: nothing beneath them can be created
// either, because their parents are read-only.
int landlock_enter(const LandlockPlan& plan) noexcept;

}  // namespace cells::kernel
