#include "kernel/init.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "kernel/cell_spawner.h"

namespace cells::kernel {
namespace {

// A SIG_DFL SIGTERM is dropped by the kernel for a namespace init even when it comes from the
// host; an installed handler makes it deliverable. It never runs: the signal stays blocked and
// is read from the signalfd.
void ignore_handler(int) {}

void reap_all() {
  for (;;) {
    pid_t pid = waitpid(-1, nullptr, WNOHANG | __WALL);
    if (pid <= 0) return;  // 0: children left but none exited; -1/ECHILD: no children
  }
}

}  // namespace

bool parse_init_args(int argc, char** argv, InitContext* ctx) {
  bool have_name = false, have_cid = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strncmp(argv[i], "cell=", 5) == 0 && argv[i][5] != '\0') {
      ctx->name = argv[i] + 5;
      have_name = true;
    } else if (std::strncmp(argv[i], "cid=", 4) == 0) {
      char* end = nullptr;
      unsigned long v = std::strtoul(argv[i] + 4, &end, 10);
      if (end == argv[i] + 4 || *end != '\0' || v == 0 || v > UINT32_MAX) return false;
      ctx->cid = static_cast<uint32_t>(v);
      have_cid = true;
    }
  }
  return have_name && have_cid;
}

int run_init_loop(const InitContext& ctx) {
  (void)ctx;
  // exec resets dumpability, so this must happen here and not in the setup child.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  struct sigaction sa {};
  sa.sa_handler = ignore_handler;
  sigaction(SIGTERM, &sa, nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return 10;
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return 11;
  // The spawn channel (cell_spawner.h), when the runtime gave us one.
  int spawn_fd = fcntl(kInitSpawnFd, F_GETFD) >= 0 ? kInitSpawnFd : -1;
  if (spawn_fd >= 0) fcntl(spawn_fd, F_SETFL, fcntl(spawn_fd, F_GETFL) | O_NONBLOCK);

  // Children may have been re-parented to us before the signalfd existed.
  reap_all();
  for (;;) {
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {spawn_fd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 14;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (read(sfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGCHLD) reap_all();
        // ssi_pid is 0 when the sender lives outside our PID namespace: that is the host.
        if (si.ssi_signo == SIGTERM && si.ssi_pid == 0) return 0;
      }
    }
    if (fds[1].revents & POLLIN) init_serve_spawns();
  }
}

}  // namespace cells::kernel
