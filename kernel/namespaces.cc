#include "kernel/namespaces.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>

namespace cells::kernel {

pid_t clone3_fork(struct clone_args* args) {
  // The raw syscall bypasses glibc's fork handlers: the child has a copy of the locks held by
  // other threads at that instant, which is why it must stay async-signal-safe.
  return static_cast<pid_t>(syscall(SYS_clone3, args, sizeof(*args)));
}

int pidfd_open_raw(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal_raw(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace cells::kernel
