#include "kernel/caps.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <initializer_list>

#include "base/files.h"

namespace cells::kernel {
namespace {

constexpr uint64_t bits(std::initializer_list<int> caps) {
  uint64_t m = 0;
  for (int c : caps) m |= uint64_t{1} << c;
  return m;
}

// Never held by any cell: they reach the kernel itself (modules, kexec/reboot, BPF and perf,
// the kernel log, LSM and audit configuration, raw I/O ports and /dev/mem).
constexpr uint64_t kDropAll =
    bits({CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_BPF, CAP_PERFMON, CAP_SYSLOG, CAP_MAC_ADMIN,
          CAP_MAC_OVERRIDE, CAP_AUDIT_CONTROL, CAP_AUDIT_READ, CAP_SYS_RAWIO});

// medium and high keep an allow-list rather than subtracting a deny-list, so a capability that
// a future kernel adds is dropped by default. This is what a service running as root needs to
// manage its own files, users and processes; everything that reaches shared host state
// (mounts, network configuration, raw sockets, device nodes, clocks, file handles, resource
// limits set by the runtime, real-time scheduling) is absent.
constexpr uint64_t kKeepMedium =
    bits({CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID,
          CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_IPC_LOCK, CAP_IPC_OWNER, CAP_SYS_PTRACE, CAP_LEASE,
          CAP_AUDIT_WRITE, CAP_SETFCAP});

}  // namespace

uint64_t caps_keep_mask(Profile profile) {
  switch (profile) {
    case Profile::kLow:
      return ~kDropAll;
    case Profile::kMedium:
    case Profile::kHigh:
      return kKeepMedium & ~kDropAll;
  }
  return 0;
}

Result<CapsPlan> build_caps(Profile profile) {
  std::string text = CELLS_TRY(read_file("/proc/sys/kernel/cap_last_cap"));
  int last = 0;
  try {
    last = std::stoi(text);
  } catch (const std::exception&) {
    return Error(ErrorKind::kUnsupported,
                 "cannot parse /proc/sys/kernel/cap_last_cap: '" + text + "'");
  }
  if (last < CAP_CHOWN || last > 63) {
    return Error(ErrorKind::kUnsupported,
                 "capability count out of range in /proc/sys/kernel/cap_last_cap: " + text);
  }
  return CapsPlan{caps_keep_mask(profile), last};
}

int caps_enter(const CapsPlan& plan) noexcept {
  // Bounding set first: dropping from it needs CAP_SETPCAP, which the capset below may remove.
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (plan.keep & (uint64_t{1} << cap)) continue;
    int held = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (held < 0) return errno;
    if (held && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) return errno;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return errno;

  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    uint32_t keep = static_cast<uint32_t>(plan.keep >> (32 * i));
    data[i].permitted &= keep;
    data[i].effective &= keep;
    data[i].inheritable = 0;
  }
  if (syscall(SYS_capset, &header, data) != 0) return errno;
  return 0;
}

}  // namespace cells::kernel
