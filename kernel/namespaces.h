// Thin wrappers over the process-creation and namespace system calls glibc 2.36 does not
// wrap (clone3, pidfd_open, pidfd_send_signal), plus the namespace flag sets cells use.
#pragma once

#include <linux/sched.h>
#include <sched.h>
#include <sys/types.h>

#include <cstdint>

namespace cells::kernel {

// The namespaces every cell init owns. The network namespace is the host's by design.
inline constexpr uint64_t kCellNamespaces =
    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;

// clone3(2) with fork semantics (no shared VM): returns 0 in the child, the child's pid in the
// parent, -1 with errno on failure. The child of a multi-threaded caller may only call
// async-signal-safe functions until it execs.
pid_t clone3_fork(struct clone_args* args);

int pidfd_open_raw(pid_t pid);
int pidfd_send_signal_raw(int pidfd, int sig);

}  // namespace cells::kernel
