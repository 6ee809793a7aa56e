// Runtime::spawn: a process born into an existing cell's namespaces, cgroup and policy.
//
// The caller must not end up in the cell's namespaces, so a short-lived helper (a clone3
// child of the caller) joins the mount, UTS, IPC and PID namespaces of the cell's init through
// its pidfd, then clone3(CLONE_INTO_CGROUP | CLONE_PARENT)s the target: in the cell's PID
// namespace and cgroup from birth, and a child of the *caller* (CLONE_PARENT), so the caller
// can wait for it and read its exit status. The target then joins the cgroup namespace (only
// possible from inside the cell's cgroup) and, for high, the user namespace, and finishes
// with session, stdio, rlimits, cwd, credentials, policy, execve. Helper and target report
// through one CLOEXEC status pipe: the helper writes the target's pid, the target writes a
// {step, errno} record only if it fails before execve.
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>

#include "base/syscall.h"
#include "kernel/cell.h"
#include "kernel/cell_spawner.h"
#include "kernel/cgroup.h"
#include "kernel/compat.h"
#include "kernel/init_setup.h"
#include "kernel/namespaces.h"
#include "kernel/policy.h"

namespace cells::kernel {
namespace {

constexpr int kHighFd = 10;
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

enum class SpawnStep : int32_t {
  kPidRecord = 1000,  // not a failure: err carries the target's host pid
  kJoinNamespaces,
  kClone,
  kJoinCgroupns,
  kJoinUserns,
  kSetsid,
  kStdio,
  kRlimit,
  kChdir,
  kGroups,
  kSetgid,
  kSetuid,
  kPolicy,
  kExec,
};

const char* to_string(SpawnStep s) {
  switch (s) {
    case SpawnStep::kPidRecord: return "pid";
    case SpawnStep::kJoinNamespaces: return "join the cell's namespaces";
    case SpawnStep::kClone: return "clone3 into the cell's cgroup";
    case SpawnStep::kJoinCgroupns: return "join the cell's cgroup namespace";
    case SpawnStep::kJoinUserns: return "join the cell's user namespace";
    case SpawnStep::kSetsid: return "setsid";
    case SpawnStep::kStdio: return "set up stdio";
    case SpawnStep::kRlimit: return "set rlimits";
    case SpawnStep::kChdir: return "chdir";
    case SpawnStep::kGroups: return "setgroups";
    case SpawnStep::kSetgid: return "setgid";
    case SpawnStep::kSetuid: return "setuid";
    case SpawnStep::kPolicy: return "enter the cell policy";
    case SpawnStep::kExec: return "exec";
  }
  return "unknown step";
}

struct Limit {
  int resource;
  rlim_t value;
};

// Everything the helper and the target need, prepared in the caller (they cannot allocate).
struct SpawnPlan {
  int init_pidfd;
  int cgroup_fd;
  int status_fd;
  bool user_ns;
  bool new_session;
  int stdio[3];
  std::vector<Limit> limits;
  const char* cwd;
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;
  const PreparedPolicy* policy;
  std::vector<std::string> candidates;  // absolute paths to try for argv[0]
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<const char*> candidate_ptrs;
};

void report(int fd, SpawnStep step, int err) {
  StatusRecord r{static_cast<int32_t>(step), err};
  (void)!write(fd, &r, sizeof r);
}

[[noreturn]] void fail(const SpawnPlan& p, SpawnStep step) {
  report(p.status_fd, step, errno);
  _exit(127);
}

[[noreturn]] void target_main(const SpawnPlan& p) {
  // The cgroup namespace is joined from inside: the kernel only lets a process into a cgroup
  // namespace whose root is an ancestor of its own cgroup.
  if (setns(p.init_pidfd, CLONE_NEWCGROUP) != 0) fail(p, SpawnStep::kJoinCgroupns);
  // The user namespace last among namespaces: after it we hold no host capability.
  if (p.user_ns && setns(p.init_pidfd, CLONE_NEWUSER) != 0) fail(p, SpawnStep::kJoinUserns);
  // A caller that blocks signals (cellctl exec forwards the terminal's) must not hand its
  // mask on: it survives execve.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (p.new_session && setsid() < 0) fail(p, SpawnStep::kSetsid);
  // Move the caller's fds up first so that e.g. stdout=2, stderr=1 cannot clobber each other.
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = fcntl(p.stdio[i], F_DUPFD_CLOEXEC, kHighFd);
    if (high[i] < 0) fail(p, SpawnStep::kStdio);
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(high[i], i) < 0) fail(p, SpawnStep::kStdio);
  }
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(p, SpawnStep::kStdio);
  for (const auto& l : p.limits) {
    struct rlimit rl {l.value, l.value};
    if (setrlimit(static_cast<__rlimit_resource>(l.resource), &rl) != 0) {
      fail(p, SpawnStep::kRlimit);
    }
  }
  if (chdir(p.cwd) != 0) fail(p, SpawnStep::kChdir);
  // The policy before the credentials: dropping the capability bounding set needs
  // CAP_SETPCAP, which setresuid to a non-root uid gives up. The policy keeps CAP_SETUID and
  // CAP_SETGID and its seccomp filter allows the calls below.
  if (int err = enter_policy(*p.policy); err != 0) {
    errno = err;
    fail(p, SpawnStep::kPolicy);
  }
  // Order: groups and gid need privileges that setuid gives up.
  if (syscall(SYS_setgroups, p.groups.size(), p.groups.data()) != 0) fail(p, SpawnStep::kGroups);
  if (syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0) fail(p, SpawnStep::kSetgid);
  if (syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) fail(p, SpawnStep::kSetuid);
  int err = ENOENT;
  for (const char* path : p.candidate_ptrs) {
    execve(path, p.argv.data(), p.envp.data());
    // Keep the most telling error: a later ENOENT must not hide an EACCES from an earlier dir.
    if (errno != ENOENT || err == ENOENT) err = errno;
  }
  errno = err;
  fail(p, SpawnStep::kExec);
}

[[noreturn]] void helper_main(const SpawnPlan& p) {
  if (setns(p.init_pidfd, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) != 0) {
    fail(p, SpawnStep::kJoinNamespaces);
  }
  struct clone_args args {};
  args.flags = CLONE_INTO_CGROUP | CLONE_PARENT;
  args.exit_signal = 0;  // CLONE_PARENT: the caller gets SIGCHLD as for its own children
  args.cgroup = static_cast<uint64_t>(p.cgroup_fd);
  pid_t pid = clone3_fork(&args);
  if (pid < 0) fail(p, SpawnStep::kClone);
  if (pid == 0) target_main(p);
  report(p.status_fd, SpawnStep::kPidRecord, pid);
  _exit(0);
}

std::vector<std::string> exec_candidates(const std::string& file,
                                         const std::vector<std::string>& env) {
  if (file.find('/') != std::string::npos) return {file};
  std::string path = kDefaultPath;
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    size_t colon = path.find(':', pos);
    std::string dir = path.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    out.push_back((dir.empty() ? "." : dir) + "/" + file);
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return out;
}

void add_limit(std::vector<Limit>& out, int resource, const std::optional<uint64_t>& cell,
               const std::optional<uint64_t>& opt) {
  // The spawn's own value wins over the cell's; neither given means inherit (unlimited here).
  const auto& v = opt ? opt : cell;
  if (v) out.push_back({resource, static_cast<rlim_t>(*v)});
}

// The exit status of a process reaped by someone else, kept by the kernel for pidfd holders.
// The pidfd becomes readable at exit, the status a moment later, when its parent (the cell's
// init, woken by SIGCHLD) reaps it; BLOCK waits for both.
Result<std::optional<int>> exit_status_from_pidfd(int pidfd, bool block) {
  for (int spins = 0;; ++spins) {
    pollfd pfd{pidfd, POLLIN, 0};
    int n = poll(&pfd, 1, block ? -1 : 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(errno, "poll pidfd");
    if (n == 0) return std::optional<int>();
    compat::PidfdInfo info;
    info.mask = CELLS_PIDFD_INFO_EXIT;
    // Only a successful call fills INFO. ESRCH comes while the reaped process's pid is already
    // gone but its exit information is not stored yet (both happen as init reaps it): then
    // INFO still holds the request, and its exit_code of 0 is no answer. Ask again.
    if (ioctl(pidfd, CELLS_PIDFD_GET_INFO, &info) != 0) {
      if (errno != ESRCH) return Error::sys(errno, "PIDFD_GET_INFO");
      info.mask = 0;
    }
    if (info.mask & CELLS_PIDFD_INFO_EXIT) return std::optional<int>(info.exit_code);
    // Exited, not reaped (or not recorded) yet: init reaps within microseconds; 10 s means
    // init is gone.
    if (spins > 10000) return Error(ErrorKind::kSystem, "the exited process is never reaped");
    usleep(1000);
  }
}

Result<std::optional<int>> wait_or_poll(Child& child, bool block) {
  if (!child.pidfd.valid()) return Error::invalid("wait: the child was waited for already");
  if (child.reaped_by_cell) {
    auto st = CELLS_TRY(exit_status_from_pidfd(child.pidfd.get(), block));
    if (st) child.pidfd.reset();
    return st;
  }
  siginfo_t si{};
  while (waitid(P_PIDFD, id_t(child.pidfd.get()), &si, WEXITED | (block ? 0 : WNOHANG)) != 0) {
    if (errno != EINTR) return Error::sys(errno, "waitid");
  }
  if (si.si_pid == 0) return std::optional<int>();
  child.pidfd.reset();
  return std::optional<int>(si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0)
                                                     : si.si_status);
}

}  // namespace

Result<int> wait_spawned(Child& child) {
  auto st = CELLS_TRY(wait_or_poll(child, /*block=*/true));
  return *st;
}

Result<std::optional<int>> try_wait_spawned(Child& child) {
  return wait_or_poll(child, /*block=*/false);
}

Result<Child> Runtime::spawn(const CellInfo& cell, const SpawnOptions& opts) {
  const std::string ctx = "spawn in cell " + cell.name;
  if (opts.argv.empty() || opts.argv[0].empty()) {
    return Error::invalid(ctx + ": no command given");
  }
  CellCgroup cg = CELLS_TRY_CTX(CellCgroup::open(paths_.cgroup_parent(), cell.name), ctx);
  if (cg.id() != cell.cgroup_id) {
    return Error::not_found(ctx + ": the cell was destroyed (its cgroup is another one now)");
  }
  int raw_pidfd = pidfd_open_raw(cell.init_pid);
  if (raw_pidfd < 0) return Error::sys(errno, ctx + ": pidfd_open of init " +
                                                 std::to_string(cell.init_pid));
  Fd init_pidfd(raw_pidfd);
  // The pidfd names whatever process had that pid when it was opened; finding that pid in the
  // cell's cgroup afterwards proves it is the cell's init and not a reused pid.
  auto pids = CELLS_TRY_CTX(cg.pids(), ctx);
  if (std::find(pids.begin(), pids.end(), cell.init_pid) == pids.end()) {
    return Error(ErrorKind::kNotFound, ctx + ": its init (pid " + std::to_string(cell.init_pid) +
                                           ") is gone; destroy and re-create the cell");
  }
  PreparedPolicy policy = CELLS_TRY_CTX(prepare_policy(cell), ctx);

  Fd devnull;
  if (opts.stdin_fd < 0 || opts.stdout_fd < 0 || opts.stderr_fd < 0) {
    devnull = CELLS_SYSCALL_FD(::open("/dev/null", O_RDWR | O_CLOEXEC), ctx + ": open /dev/null");
  }
  int p[2];
  CELLS_SYSCALL(pipe2(p, O_CLOEXEC), ctx + ": pipe");
  Fd status_read(p[0]), status_write(p[1]);

  SpawnPlan plan;
  plan.init_pidfd = init_pidfd.get();
  plan.cgroup_fd = cg.fd();
  plan.status_fd = status_write.get();
  plan.user_ns = cell.profile == Profile::kHigh;
  plan.new_session = opts.new_session;
  plan.stdio[0] = opts.stdin_fd >= 0 ? opts.stdin_fd : devnull.get();
  plan.stdio[1] = opts.stdout_fd >= 0 ? opts.stdout_fd : devnull.get();
  plan.stdio[2] = opts.stderr_fd >= 0 ? opts.stderr_fd : devnull.get();
  add_limit(plan.limits, RLIMIT_NOFILE, cell.rlimits.nofile, opts.rlimits.nofile);
  add_limit(plan.limits, RLIMIT_AS, cell.rlimits.as, opts.rlimits.as);
  add_limit(plan.limits, RLIMIT_CORE, cell.rlimits.core, opts.rlimits.core);
  plan.cwd = opts.cwd.empty() ? "/" : opts.cwd.c_str();
  Credentials creds = opts.run_as.value_or(Credentials{});
  plan.uid = creds.uid;
  plan.gid = creds.gid;
  plan.groups = creds.groups;
  plan.policy = &policy;
  std::vector<std::string> env = opts.env;
  if (env.empty()) env = {std::string("PATH=") + kDefaultPath, "HOME=/root"};
  plan.candidates = exec_candidates(opts.program.empty() ? opts.argv[0] : opts.program, env);
  for (const auto& c : plan.candidates) plan.candidate_ptrs.push_back(c.c_str());
  for (const auto& a : opts.argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  for (const auto& e : env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);

  if (opts.shared_domain) {
    SpawnRequest req;
    req.argv = opts.argv;
    req.env = env;
    req.candidates = plan.candidates;
    req.cwd = plan.cwd;
    req.uid = plan.uid;
    req.gid = plan.gid;
    req.groups = plan.groups;
    for (const auto& l : plan.limits) req.limits.push_back({l.resource, uint64_t(l.value)});
    req.caps_keep = policy.caps.keep;
    req.caps_last_cap = policy.caps.last_cap;
    req.seccomp = policy.seccomp;
    auto child = spawn_through_init(init_pidfd.get(), req, plan.stdio, ctx);
    // A cell whose init predates the spawn channel gets the old spawn (its own domain).
    if (child.ok() || child.error().kind() != ErrorKind::kUnsupported) return child;
  }

  struct clone_args args {};
  args.exit_signal = SIGCHLD;
  pid_t helper = clone3_fork(&args);
  if (helper < 0) return Error::sys(errno, ctx + ": clone3 helper");
  if (helper == 0) helper_main(plan);
  status_write.reset();
  int status = 0;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }

  // Records: the helper's (pid or failure), then, only on failure, the target's.
  pid_t pid = -1;
  std::optional<StatusRecord> failure;
  for (;;) {
    StatusRecord rec;
    ssize_t n = read(status_read.get(), &rec, sizeof rec);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof rec)) break;
    if (static_cast<SpawnStep>(rec.step) == SpawnStep::kPidRecord) {
      pid = rec.err;
    } else {
      failure = rec;
    }
  }
  if (failure) {
    if (pid > 0) {
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    }
    std::string what = to_string(static_cast<SpawnStep>(failure->step));
    if (static_cast<SpawnStep>(failure->step) == SpawnStep::kExec) {
      what += " " + (opts.program.empty() ? opts.argv[0] : opts.program);
    }
    return Error::sys(failure->err, ctx + ": " + what);
  }
  if (pid <= 0) return Error(ErrorKind::kSystem, ctx + ": the spawn helper died without a report");
  int child_pidfd = pidfd_open_raw(pid);
  if (child_pidfd < 0) return Error::sys(errno, ctx + ": pidfd_open " + std::to_string(pid));
  return Child{pid, Fd(child_pidfd)};
}

}  // namespace cells::kernel
