// seccomp_enter() on its own: the cell's init links it statically to enter the filter in the
// processes it forks, without pulling in libseccomp (which only builds filters).
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "kernel/seccomp.h"

namespace cells::kernel {

int seccomp_enter(const std::vector<sock_filter>& filter) noexcept {
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(filter.size());
  prog.filter = const_cast<sock_filter*>(filter.data());
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) return errno;
  return 0;
}

}  // namespace cells::kernel
