// seccomp half of the cell policy: a deny-list filter per profile (DESIGN section 3), compiled
// by libseccomp in the parent and loaded in the child as raw BPF, so the child neither
// allocates nor calls into libseccomp between fork and execve.
//
// Denied calls fail with EPERM, except clone3, which fails with ENOSYS: its flags live in
// memory a filter cannot read, so libc is made to fall back to clone(), whose flags it can.
#pragma once

#include <linux/filter.h>

#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

// libseccomp returns -errno; this is the one place that turns it into an Error.
Error from_seccomp(int rc, std::string_view op);

// Fails with kUnsupported if the kernel lacks seccomp filter mode.
Status seccomp_available();

// The filter of PROFILE as BPF instructions for the native architecture. Other architectures'
// system calls (i386 int 0x80, x32) kill the process: the filter cannot vouch for them.
Result<std::vector<sock_filter>> build_seccomp_filter(Profile profile);

// Loads FILTER into the calling thread. NO_NEW_PRIVS must already be set. Returns 0 or an
// errno; async-signal-safe.
int seccomp_enter(const std::vector<sock_filter>& filter) noexcept;

}  // namespace cells::kernel
