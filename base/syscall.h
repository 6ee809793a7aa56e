// CELLS_SYSCALL: run a system call, retry on EINTR, and turn -1 into an Error that names
// the call and its context. For use in functions returning Result<...>.
//
//   CELLS_SYSCALL(mkdir(path.c_str(), 0755), "mkdir " + path);
//   int n = CELLS_SYSCALL(read(fd, buf, len), "read " + path);
//   Fd fd = CELLS_SYSCALL_FD(open(p.c_str(), O_RDONLY | O_CLOEXEC), "open " + p);
#pragma once

#include <cerrno>

#include "base/error.h"
#include "base/fd.h"

namespace cells::detail {
template <typename F>
auto retry_eintr(F&& f) {
  for (;;) {
    auto r = f();
    if (!(r == -1 && errno == EINTR)) return r;
  }
}
}  // namespace cells::detail

#define CELLS_SYSCALL(call, ctx)                                              \
  ({                                                                          \
    auto cells_sys_r_ = ::cells::detail::retry_eintr([&] { return (call); }); \
    if (cells_sys_r_ == -1) return ::cells::Error::sys(errno, (ctx));         \
    cells_sys_r_;                                                             \
  })

#define CELLS_SYSCALL_FD(call, ctx) ::cells::Fd(CELLS_SYSCALL(call, ctx))
