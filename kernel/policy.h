// The in-process half of a cell's policy (DESIGN section 3): capability bounding set,
// NO_NEW_PRIVS, Landlock and seccomp. The other half (namespaces, cgroup, cgroup-BPF, user
// namespace) belongs to the runtime and to BpfPolicy.
//
// Everything that can fail for a reason worth reporting (a missing kernel mechanism, a bad
// writable path, a reserved port of 0) fails in prepare_policy(), in the parent, as an Error.
// enter_policy() runs in the forked child between the namespace setup and execve, where only
// async-signal-safe code may run, so it does system calls only and reports an errno.
//
//   auto policy = CELLS_TRY(prepare_policy(cell));
//   pid = fork();  // or clone3
//   // child: namespaces, pivot_root, fds ... then
//   if (int err = enter_policy(*policy)) { report err; _exit(127); }
//   setgroups(...); setresgid(...); setresuid(...);
//   execve(...);
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "kernel/caps.h"
#include "kernel/cell.h"
#include "kernel/landlock.h"

namespace cells::kernel {

struct PreparedPolicy {
  Profile profile = Profile::kHigh;
  CapsPlan caps;
  LandlockPlan landlock;
  std::vector<sock_filter> seccomp;  // the exported BPF program, native architecture
};

// Builds the policy of CELL's profile: its reserved ports (high: the only TCP ports it may
// bind) and writable paths (high: empty = default_writable_paths()). Fails with kUnsupported
// naming the first missing mechanism (Landlock ABI >= 6, seccomp filters), or kInvalid naming
// the bad input. Reusable for several children of the same cell.
Result<PreparedPolicy> prepare_policy(const CellInfo& cell);

// The steps of enter_policy(), in order; a failure names its step through the STEP
// out-parameter so the child can report "landlock: Permission denied" rather than a bare errno.
enum class PolicyStep { kNone, kCaps, kNoNewPrivs, kLandlock, kSeccomp };
const char* to_string(PolicyStep step);

// In the child before execve. Must run after the cell's root is in place (Landlock rules
// resolve in the cell's view of the filesystem) and before switching to non-root credentials:
// dropping the bounding set needs CAP_SETPCAP, which setresuid to a non-root uid gives up.
// CAP_SETUID/CAP_SETGID stay and the filter allows setgroups/setresgid/setresuid, so the
// credential change can follow. Returns 0 or an errno; if STEP is given, it names the step
// that failed. Async-signal-safe: no allocation, no locks.
int enter_policy(const PreparedPolicy& p, PolicyStep* step = nullptr) noexcept;

}  // namespace cells::kernel
