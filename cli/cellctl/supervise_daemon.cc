#include "cli/cellctl/supervise_daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fd.h"
#include "base/helper_path.h"
#include "base/paths.h"
#include "kernel/cell.h"
#include "kernel/instance_sampler.h"
#include "kernel/supervise_spec.h"

namespace cells::cellctl {

int run_supervise_daemon(const std::string& root) {
  int spec_fd = std::atoi(std::getenv(kSpecFdEnv));
  const char* ready_env = std::getenv(kReadyFdEnv);
  Fd ready(ready_env ? std::atoi(ready_env) : -1);
  ::fcntl(ready.get(), F_SETFD, FD_CLOEXEC);
  // The supervise lock stays open, unnamed, until this process exits: that is what tells a
  // second `cellctl supervise` or a stopper that this supervisor lives. CLOEXEC keeps it out
  // of everything the supervisor starts.
  if (const char* lock_env = std::getenv(kLockFdEnv)) {
    ::fcntl(std::atoi(lock_env), F_SETFD, FD_CLOEXEC);
  }
  ::unsetenv(kSpecFdEnv);
  ::unsetenv(kReadyFdEnv);
  ::unsetenv(kLockFdEnv);
  // The launcher may be gone (a cellmgr killed while it started us takes its launcher along):
  // writing to its pipe then raises SIGPIPE, whose default action would kill this supervisor
  // without its cleanup, leaving a pid file that names a dead process. SIGPIPE is blocked for
  // the write and a pending one taken away, not ignored: an ignored signal would be inherited
  // by the service.
  auto report = [&](const std::string& msg) {
    if (ready.valid()) {
      sigset_t pipe_only, old;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      ::pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
      (void)!::write(ready.get(), msg.data(), msg.size());
      const timespec now{0, 0};
      while (::sigtimedwait(&pipe_only, nullptr, &now) == SIGPIPE) {
      }
      ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
    ready.reset();
  };
  std::string text;
  {
    Fd fd(spec_fd);
    char buf[4096];
    for (ssize_t n; (n = ::pread(fd.get(), buf, sizeof buf, off_t(text.size()))) > 0;) {
      text.append(buf, size_t(n));
    }
  }
  auto decoded = kernel::decode_supervise_spec(text);
  if (!decoded) return report("supervise: internal " + decoded.error().message()), 1;
  kernel::SuperviseSpec spec = std::move(*decoded);
  auto paths = Paths::from_root(root);
  if (!paths) return report(paths.error().message()), 1;
  auto runtime = kernel::Runtime::open(*paths);
  if (!runtime) return report(runtime.error().message()), 1;
  // By name, which reads one registry record (a cid lookup lists every cell); the cid must
  // still match, or the name now belongs to another cell than the one to supervise.
  auto cell = runtime->find(spec.name);
  if (!cell) return report(cell.error().message()), 1;
  if (cell->cid != spec.cid) {
    return report("cell " + spec.name + " is cid " + std::to_string(cell->cid) + ", not " +
                  std::to_string(spec.cid)), 1;
  }
  spec.cgroup_dir = paths->cgroup_parent() + "/" + cell->name;
  spec.init_pid = cell->init_pid;
  kernel::CellInfo info = *cell;
  auto& rt = *runtime;
  auto sup = kernel::Supervisor::create(
      *paths, std::move(spec),
      [&rt, info](const kernel::SpawnOptions& opts) { return rt.spawn(info, opts); });
  if (!sup) return report(sup.error().message()), 1;
  // The instance's sampler publishes this cell's counters; should it have been killed, a
  // supervisor starting is one of the moments it comes back (the other is a create). Telemetry
  // is an observation: supervision goes on without it.
  (void)kernel::ensure_sampler(*paths);
  report("ready");
  auto st = sup->run();
  return st.ok() ? 0 : 1;
}

std::string supervise_program() {
  if (const char* p = std::getenv("CELLS_SUPERVISE_PROGRAM"); p && *p) return p;
  // An installed cellctl uses the supervisor installed with it, never one of its build tree.
  if (auto installed = installed_helper_path("cells-supervise");
      !installed.empty() && ::access(installed.c_str(), X_OK) == 0) {
    return installed;
  }
#ifdef CELLS_SUPERVISE_PROGRAM_PATH
  if (::access(CELLS_SUPERVISE_PROGRAM_PATH, X_OK) == 0) return CELLS_SUPERVISE_PROGRAM_PATH;
#endif
  if (::access("/usr/libexec/cells/cells-supervise", X_OK) == 0) {
    return "/usr/libexec/cells/cells-supervise";
  }
  return "/proc/self/exe";
}

}  // namespace cells::cellctl
