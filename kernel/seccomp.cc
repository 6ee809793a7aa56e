#include "kernel/seccomp.h"

#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "base/syscall.h"

namespace cells::kernel {
#ifndef CELLS_SECCOMP_PRECOMPILED
namespace {

// Every profile: no modules, kexec, reboot, bpf(), kernel log, namespace changes; and no
// file-handle opens (they bypass path walks, the classic "shocker" escape), no perf events, no
// raw port I/O.
constexpr int kDenyAll[] = {
    SCMP_SYS(init_module),
    SCMP_SYS(finit_module),
    SCMP_SYS(delete_module),
    SCMP_SYS(kexec_load),
    SCMP_SYS(kexec_file_load),
    SCMP_SYS(reboot),
    SCMP_SYS(bpf),
    SCMP_SYS(syslog),
    SCMP_SYS(unshare),
    SCMP_SYS(setns),
    SCMP_SYS(open_by_handle_at),
    SCMP_SYS(perf_event_open),
    SCMP_SYS(iopl),
    SCMP_SYS(ioperm),
};

// medium and high: no mounts (old and new mount API), root changes, clock changes, swap or
// host names.
constexpr int kDenyMedium[] = {
    SCMP_SYS(mount),         SCMP_SYS(umount2),       SCMP_SYS(pivot_root),
    SCMP_SYS(chroot),        SCMP_SYS(fsopen),        SCMP_SYS(fsconfig),
    SCMP_SYS(fsmount),       SCMP_SYS(fspick),        SCMP_SYS(open_tree),
    SCMP_SYS(move_mount),    SCMP_SYS(mount_setattr), SCMP_SYS(settimeofday),
    SCMP_SYS(clock_settime), SCMP_SYS(clock_adjtime), SCMP_SYS(adjtimex),
    SCMP_SYS(swapon),        SCMP_SYS(swapoff),       SCMP_SYS(sethostname),
    SCMP_SYS(setdomainname),
};

constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                     CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Status add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, std::string_view what,
                std::initializer_list<scmp_arg_cmp> args = {}) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()),
                                  args.size() ? args.begin() : nullptr);
  if (rc < 0) return from_seccomp(rc, std::string("seccomp_rule_add ") + std::string(what));
  return ok_status();
}

}  // namespace
#endif  // CELLS_SECCOMP_PRECOMPILED

Error from_seccomp(int rc, std::string_view op) {
  int err = rc < 0 ? -rc : EINVAL;
  return Error::sys(err, op);
}

Status seccomp_available() {
  uint32_t action = SECCOMP_RET_ERRNO;
  if (syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
    int err = errno;
    return Error(ErrorKind::kUnsupported,
                 "seccomp filter mode is not available in this kernel (CONFIG_SECCOMP_FILTER)",
                 err);
  }
  return ok_status();
}

#ifdef CELLS_SECCOMP_PRECOMPILED
Result<std::vector<sock_filter>> build_seccomp_filter(Profile profile) {
  CELLS_TRY(seccomp_available());
  auto insns = precompiled_seccomp_filter(profile);
  return std::vector<sock_filter>(insns.begin(), insns.end());
}
#else
Result<std::vector<sock_filter>> build_seccomp_filter(Profile profile) {
  CELLS_TRY(seccomp_available());
  Ctx ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Error::sys(ENOMEM, "seccomp_init");
  // NO_NEW_PRIVS is set by enter_policy() itself, before Landlock needs it; the exported
  // program does not carry libseccomp's attribute anyway.
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);

  for (int nr : kDenyAll) CELLS_TRY(add_rule(ctx.get(), eperm, nr, "deny (all profiles)"));
  // One rule per flag: libseccomp ORs rules, and a masked compare tests one bit pattern.
  for (uint64_t flag = 1; flag != 0; flag <<= 1) {
    if (!(kNamespaceFlags & flag)) continue;
    CELLS_TRY(add_rule(ctx.get(), eperm, SCMP_SYS(clone), "clone namespace flag",
                       {SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag)}));
  }
  CELLS_TRY(add_rule(ctx.get(), SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), "clone3"));

  if (profile != Profile::kLow) {
    for (int nr : kDenyMedium) CELLS_TRY(add_rule(ctx.get(), eperm, nr, "deny (medium/high)"));
    // Packet sockets see and forge every frame on the host's interfaces (shared netns); the
    // cgroup-BPF sock_create hook only covers inet sockets, so seccomp handles AF_PACKET.
    CELLS_TRY(add_rule(ctx.get(), eperm, SCMP_SYS(socket), "socket(AF_PACKET)",
                       {SCMP_A0(SCMP_CMP_EQ, AF_PACKET)}));
    // The type argument carries SOCK_NONBLOCK/SOCK_CLOEXEC in its high bits.
    CELLS_TRY(add_rule(ctx.get(), eperm, SCMP_SYS(socket), "socket(SOCK_RAW)",
                       {SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW)}));
  }

  // libseccomp 2.5 can only export to an fd: go through a memfd and read the program back.
  Fd mem = CELLS_SYSCALL_FD(memfd_create("cells-seccomp", MFD_CLOEXEC), "memfd_create");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc < 0) {
    return from_seccomp(rc, "seccomp_export_bpf");
  }
  off_t size = CELLS_SYSCALL(lseek(mem.get(), 0, SEEK_END), "lseek seccomp memfd");
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS) {
    return Error(ErrorKind::kSystem, "seccomp_export_bpf produced " + std::to_string(size) +
                                         " bytes, not a valid BPF program");
  }
  std::vector<sock_filter> insns(size / sizeof(sock_filter));
  ssize_t n = CELLS_SYSCALL(pread(mem.get(), insns.data(), size, 0), "read seccomp memfd");
  if (n != size) return Error(ErrorKind::kSystem, "short read of the exported seccomp program");
  return insns;
}
#endif  // CELLS_SECCOMP_PRECOMPILED


}  // namespace cells::kernel
