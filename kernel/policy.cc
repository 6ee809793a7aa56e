#include "kernel/policy.h"

#include <sys/prctl.h>

#include <cerrno>

#include "kernel/seccomp.h"

namespace cells::kernel {

Result<PreparedPolicy> prepare_policy(const CellInfo& cell) {
  const std::string ctx = "prepare policy of cell " + cell.name;
  PreparedPolicy p;
  p.profile = cell.profile;

  LandlockOptions ll;
  if (cell.profile == Profile::kHigh) {
    ll.restrict_fs = true;
    ll.restrict_bind = true;
    ll.bind_ports = cell.ports;
    ll.writable = cell.writable_paths.empty() ? default_writable_paths() : cell.writable_paths;
  } else {
    // low and medium get the IPC scopes only; their ports are still reserved by cgroup-BPF.
    for (uint16_t port : cell.ports) {
      if (port == 0) {
        return Error::invalid("reserved port 0 is not a port (expected 1..65535)").wrap(ctx);
      }
    }
  }
  // Landlock first: it validates the operator's inputs, and validation errors should win
  // over errors about the machine.
  p.landlock = CELLS_TRY_CTX(build_landlock(ll), ctx);
  p.caps = CELLS_TRY_CTX(build_caps(cell.profile), ctx);
  p.seccomp = CELLS_TRY_CTX(build_seccomp_filter(cell.profile), ctx);
  return p;
}

const char* to_string(PolicyStep step) {
  switch (step) {
    case PolicyStep::kNone:
      return "none";
    case PolicyStep::kCaps:
      return "capabilities";
    case PolicyStep::kNoNewPrivs:
      return "no_new_privs";
    case PolicyStep::kLandlock:
      return "landlock";
    case PolicyStep::kSeccomp:
      return "seccomp";
  }
  return "unknown";
}

int enter_policy(const PreparedPolicy& p, PolicyStep* step) noexcept {
  PolicyStep unused;
  PolicyStep& at = step ? *step : unused;
  int err = 0;

  // 1. Capabilities while we still hold CAP_SETPCAP (needed for PR_CAPBSET_DROP) and before
  //    any step below could be blocked by what we are about to install.
  at = PolicyStep::kCaps;
  if ((err = caps_enter(p.caps))) return err;

  // 2. NO_NEW_PRIVS: Landlock and seccomp both require it from a process without
  //    CAP_SYS_ADMIN (which medium/high just lost), and it keeps setuid/file-capability
  //    binaries from re-granting what step 1 took away across execve.
  at = PolicyStep::kNoNewPrivs;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;

  // 3. Landlock: its rules open paths and call landlock_* syscalls, which must not be subject
  //    to the seccomp filter yet.
  at = PolicyStep::kLandlock;
  if ((err = landlock_enter(p.landlock))) return err;

  // 4. seccomp last, so that its filter constrains only the payload and never the steps above
  //    (a filter installed earlier could deny prctl or open and break the setup).
  at = PolicyStep::kSeccomp;
  if ((err = seccomp_enter(p.seccomp))) return err;

  at = PolicyStep::kNone;
  return 0;
}

}  // namespace cells::kernel
