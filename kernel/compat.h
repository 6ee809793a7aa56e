// Kernel constants and structs newer than the build host's uapi headers.
//
// Debian 12 ships linux-libc-dev 6.1, whose <linux/landlock.h> stops at Landlock ABI 2. The
// running kernel (6.18) has ABI 7. The values below are the stable uapi of later kernels; they
// are defined only when the headers lack them, so a newer libc-dev takes over silently.
#pragma once

#include <linux/landlock.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <cstdint>

// ABI 3 (6.2): truncate(2), ftruncate(2), open(O_TRUNC).
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
// ABI 5 (6.10): ioctl(2) on character and block devices.
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
// ABI 4 (6.7): TCP port rules.
#ifndef LANDLOCK_RULE_NET_PORT
#define LANDLOCK_RULE_NET_PORT 2
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
// ABI 6 (6.12): IPC scoping.
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif

// pidfd information (6.13), with the exit status of a reaped process (PIDFD_INFO_EXIT, 6.15).
#define CELLS_PIDFD_GET_INFO _IOWR(0xFF, 11, struct cells::kernel::compat::PidfdInfo)
#define CELLS_PIDFD_INFO_EXIT (1ULL << 3)

namespace cells::kernel::compat {

// struct pidfd_info, first version (PIDFD_INFO_SIZE_VER0 = 64 bytes).
struct PidfdInfo {
  uint64_t mask = 0;
  uint64_t cgroupid = 0;
  uint32_t pid = 0, tgid = 0, ppid = 0, ruid = 0, rgid = 0, euid = 0, egid = 0, suid = 0,
           sgid = 0, fsuid = 0, fsgid = 0;
  int32_t exit_code = 0;
};
static_assert(sizeof(PidfdInfo) == 64);

// struct landlock_ruleset_attr as of ABI 6. The kernel accepts a shorter struct from older
// callers, and this full-size one from us because it knows every field.
struct LandlockRulesetAttr {
  uint64_t handled_access_fs = 0;
  uint64_t handled_access_net = 0;  // ABI 4
  uint64_t scoped = 0;              // ABI 6
};

// struct landlock_net_port_attr (ABI 4).
struct LandlockNetPortAttr {
  uint64_t allowed_access = 0;
  uint64_t port = 0;  // host endianness
};

// struct landlock_path_beneath_attr is packed in the uapi; the 6.1 header has it, but it is
// restated here so both rule types come from one place.
struct __attribute__((packed)) LandlockPathBeneathAttr {
  uint64_t allowed_access = 0;
  int32_t parent_fd = -1;
};

}  // namespace cells::kernel::compat
