#include "kernel/init_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "base/helper_path.h"
#include "base/syscall.h"
#include "kernel/cell_spawner.h"
#include "kernel/namespaces.h"
#include "kernel/rootfs.h"
#include "kernel/seed_ns.h"

namespace cells::kernel {
namespace {

// Every fd the setup child uses sits at or above this number, so that placing stdio (0-2) and
// the cgroup fd (3) with dup2 cannot overwrite one of them.
constexpr int kHighFd = 10;

Result<Fd> dup_high(int fd, const std::string& what) {
  return CELLS_SYSCALL_FD(fcntl(fd, F_DUPFD_CLOEXEC, kHighFd), "dup " + what);
}

Result<Fd> high_fd(Fd fd, const std::string& what) { return dup_high(fd.get(), what); }

struct ChildPlan {
  const RootfsPlan* rootfs;
  const char* hostname;
  int seed_fd;
  int tree_fd;
  int userns_fd;
  int cgroup_fd;
  int devnull_fd;
  int exec_fd;
  int status_fd;
  int spawn_host_fd;  // -1 = no spawn channel (and no Landlock plan)
  int spawn_fd;
  int landlock_fd;
  char* const* argv;
  char* const* envp;
};

[[noreturn]] void fail(const ChildPlan& c, SetupStep step) {
  StatusRecord r{static_cast<int32_t>(step), errno};
  (void)!write(c.status_fd, &r, sizeof r);
  _exit(127);
}

// Runs in the clone3 child: only system calls from here on (the parent may be threaded).
[[noreturn]] void setup_child(const ChildPlan& c) {
  // Out of the caller's session, so a terminal hang-up or ^C aimed at cellctl never reaches
  // the cell.
  if (setsid() < 0) fail(c, SetupStep::kSetsid);
  // The mount namespace is a copy of the seed's few mounts, not of the host's (seed_ns.h).
  if (enter_seed_copy(c.seed_fd) != 0) fail(c, SetupStep::kEnterSeed);
  SetupStep step = enter_rootfs(*c.rootfs, c.tree_fd, c.hostname);
  if (step != SetupStep::kNone) fail(c, step);
  if (c.userns_fd >= 0) {
    // Joined last: from here on we hold capabilities only over the cell's id range, and the
    // mounts above are owned by the initial namespace, out of reach of the cell's root.
    if (setns(c.userns_fd, CLONE_NEWUSER) != 0) fail(c, SetupStep::kJoinUserns);
    if (syscall(SYS_setgroups, 0, nullptr) != 0) fail(c, SetupStep::kDropGroups);
    // Until these, our kuid is host 0, which has no mapping inside (see kernel-probe.md).
    if (syscall(SYS_setresgid, 0, 0, 0) != 0 || syscall(SYS_setresuid, 0, 0, 0) != 0) {
      fail(c, SetupStep::kSetIds);
    }
  }
  if (dup2(c.devnull_fd, 0) < 0 || dup2(c.devnull_fd, 1) < 0 || dup2(c.devnull_fd, 2) < 0 ||
      dup2(c.cgroup_fd, 3) < 0) {
    fail(c, SetupStep::kStdio);
  }
  // The spawn channel and the Landlock ruleset (cell_spawner.h: fds 5, 6 and 7; fd 4 is no
  // longer used since init stopped sampling telemetry).
  if (c.spawn_host_fd >= 0 &&
      (dup2(c.spawn_host_fd, kInitSpawnHostFd) < 0 || dup2(c.spawn_fd, kInitSpawnFd) < 0 ||
       dup2(c.landlock_fd, kInitLandlockFd) < 0)) {
    fail(c, SetupStep::kStdio);
  }
  // Whatever the caller left inheritable must not live on in init for the cell's lifetime.
  int first_free = c.spawn_host_fd >= 0 ? kInitLandlockFd + 1 : 4;
  if (close_range(first_free, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(c, SetupStep::kStdio);
  syscall(SYS_execveat, c.exec_fd, "", c.argv, c.envp, AT_EMPTY_PATH);
  fail(c, SetupStep::kExecInit);
}

}  // namespace

// The copy built with this tree, when the build names one (CMake does).
#ifndef CELLS_INIT_PROGRAM_PATH
#define CELLS_INIT_PROGRAM_PATH nullptr
#endif

Result<std::string> find_init_program() {
  return find_helper_program("cells-init", "CELLS_INIT_PROGRAM", CELLS_INIT_PROGRAM_PATH);
}

Result<LaunchedInit> launch_init(const InitLaunch& l) {
  const std::string ctx = "start init of cell " + l.name;
  // The root is attached at the seed's cell directory, not at its host path: the setup
  // child's mount namespace is a copy of the seed, where host paths do not exist.
  RootfsPlan rootfs = make_rootfs_plan(kSeedCellDir);
  Fd exec_fd = CELLS_TRY_CTX(
      high_fd(CELLS_SYSCALL_FD(open(l.program.c_str(), O_PATH | O_CLOEXEC), "open " + l.program),
              l.program),
      ctx);
  Fd devnull = CELLS_TRY_CTX(
      high_fd(CELLS_SYSCALL_FD(open("/dev/null", O_RDWR | O_CLOEXEC), "open /dev/null"),
              "/dev/null"),
      ctx);
  int p[2];
  CELLS_SYSCALL(pipe2(p, O_CLOEXEC), ctx + ": pipe");
  Fd status_read(p[0]);
  Fd status_write = CELLS_TRY_CTX(high_fd(Fd(p[1]), "status pipe"), ctx);
  Fd cgroup = CELLS_TRY_CTX(dup_high(l.cgroup_fd, "cgroup"), ctx);
  Fd tree = CELLS_TRY_CTX(dup_high(l.tree_fd, "root tree"), ctx);
  Fd seed = CELLS_TRY_CTX(dup_high(l.seed_fd, "seed mount namespace"), ctx);
  Fd userns;
  if (l.userns_fd >= 0) {
    userns = CELLS_TRY_CTX(dup_high(l.userns_fd, "userns"), ctx);
  }

  // The cell's Landlock domain for init, and the channel through which init forks processes
  // inside it (cell_spawner.h).
  Fd spawn_host, spawn_init, landlock;
  std::string landlock_env, writable_env;
  if (l.landlock) {
    int sv[2];
    CELLS_SYSCALL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ctx + ": socketpair");
    Fd a(sv[0]), b(sv[1]);
    spawn_host = CELLS_TRY_CTX(high_fd(std::move(a), "spawn channel"), ctx);
    spawn_init = CELLS_TRY_CTX(high_fd(std::move(b), "spawn channel"), ctx);
    landlock = CELLS_TRY_CTX(dup_high(l.landlock->ruleset.get(), "landlock ruleset"), ctx);
    landlock_env = std::string(kInitLandlockEnv) + "=" +
                   std::to_string(l.landlock->restrict_fs ? 1 : 0) + ":" +
                   std::to_string(l.landlock->read_access) + ":" +
                   std::to_string(l.landlock->write_access);
    writable_env = std::string(kInitWritableEnv) + "=";
    for (size_t i = 0; i < l.landlock->writable.size(); ++i) {
      if (i) writable_env += ':';
      writable_env += l.landlock->writable[i];
    }
  }
  char* envp[] = {landlock_env.empty() ? nullptr : landlock_env.data(), writable_env.data(),
                  nullptr};

  std::string title_cell = "cell=" + l.name;
  std::string title_cid = "cid=" + std::to_string(l.cid);
  char* argv[] = {const_cast<char*>("cellctl"), const_cast<char*>("init"), title_cell.data(),
                  title_cid.data(), nullptr};
  ChildPlan plan{&rootfs,      l.name.c_str(), seed.get(),    tree.get(),
                 userns.valid() ? userns.get() : -1,
                 cgroup.get(), devnull.get(),  exec_fd.get(), status_write.get(),
                 spawn_host.valid() ? spawn_host.get() : -1,
                 spawn_init.valid() ? spawn_init.get() : -1,
                 landlock.valid() ? landlock.get() : -1, argv, envp};

  int pidfd = -1;
  struct clone_args args {};
  // Every cell namespace but the mount namespace, which the child unshares from the seed.
  args.flags = CLONE_INTO_CGROUP | (kCellNamespaces & ~uint64_t(CLONE_NEWNS)) | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup.get());
  pid_t pid = clone3_fork(&args);
  if (pid < 0) {
    int err = errno;
    return Error::sys(err, ctx + ": clone3(CLONE_INTO_CGROUP|CLONE_NEWPID|CLONE_NEWUTS|"
                                 "CLONE_NEWIPC|CLONE_NEWCGROUP)");
  }
  if (pid == 0) setup_child(plan);

  LaunchedInit out{pid, Fd(pidfd)};
  status_write.reset();
  StatusRecord rec;
  ssize_t n;
  do {
    n = read(status_read.get(), &rec, sizeof rec);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return out;  // the exec closed the pipe: init runs
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof rec)) {
    return Error(ErrorKind::kSystem, ctx + ": setup child died without a report");
  }
  return Error::sys(rec.err, ctx + ": " + to_string(static_cast<SetupStep>(rec.step)));
}

}  // namespace cells::kernel
