#include "kernel/instance_sampler.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <set>

#include "base/files.h"
#include "base/helper_path.h"
#include "base/syscall.h"
#include "kernel/registry.h"

extern char** environ;

namespace cells::kernel {
namespace {

// The descriptor the locked sampler.lock is handed to cells-sampler on.
constexpr int kSamplerLockFd = 3;

bool pid_in_cgroup(int cgroup_dir_fd, pid_t pid) {
  Fd procs(::openat(cgroup_dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC));
  if (!procs.valid()) return false;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(procs.get(), buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    pid_t p = 0;
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + end, p);
    if (ec == std::errc() && p == pid) return true;
    pos = end + 1;
  }
  return false;
}

// The lock file names its holder, for stop_sampler.
void write_pid(int lock_fd) {
  std::string text = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock_fd, 0) == 0) (void)!::pwrite(lock_fd, text.data(), text.size(), 0);
}

// Polls the lock until it is free (taken and released again) or TIMEOUT_MS pass.
bool wait_unlocked(int lock_fd, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 5) {
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) == 0) {
      ::flock(lock_fd, LOCK_UN);
      return true;
    }
    ::usleep(5000);
  }
  return false;
}

}  // namespace

// The copy built with this tree, when the build names one (CMake does).
#ifndef CELLS_SAMPLER_PROGRAM_PATH
#define CELLS_SAMPLER_PROGRAM_PATH nullptr
#endif

Result<std::string> find_sampler_program() {
  return find_helper_program("cells-sampler", "CELLS_SAMPLER_PROGRAM", CELLS_SAMPLER_PROGRAM_PATH);
}

std::string sampler_lock_path(const Paths& paths) {
  return paths.run_dir() + "/telemetry/sampler.lock";
}

Result<InstanceSampler> InstanceSampler::open(const Paths& paths) {
  SnapshotFile file = CELLS_TRY(SnapshotFile::open_rw(paths));
  return InstanceSampler(paths, std::move(file));
}

Result<CellSampler> InstanceSampler::open_cell(const CellStats& identity) const {
  const std::string ctx = "sample cell " + identity.name;
  // The record is written last by create: a slot without one is a cell still being made.
  CellInfo rec = CELLS_TRY_CTX(Registry(paths_).load(identity.name), ctx);
  if (rec.cid != identity.cid) {
    return Error::not_found(ctx + ": the name now belongs to cid " + std::to_string(rec.cid));
  }
  std::string cg_path = paths_.cgroup_parent() + "/" + rec.name;
  Fd cg = CELLS_SYSCALL_FD(::open(cg_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                           ctx + ": open " + cg_path);
  // The procfs of the cell's PID namespace, reached through its init. The pidfd keeps the pid
  // from naming another process while it is checked and used: a pid is reused only after its
  // process is gone, and the pidfd says whether it is.
  Fd pidfd = CELLS_SYSCALL_FD(int(::syscall(SYS_pidfd_open, rec.init_pid, 0)),
                              ctx + ": pidfd_open of init " + std::to_string(rec.init_pid));
  if (!pid_in_cgroup(cg.get(), rec.init_pid)) {
    return Error::not_found(ctx + ": init " + std::to_string(rec.init_pid) +
                            " is not in the cell's cgroup");
  }
  std::string root_path = "/proc/" + std::to_string(rec.init_pid) + "/root";
  Fd root = CELLS_SYSCALL_FD(::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                             ctx + ": open " + root_path);
  // The cell owns the path below its root: no symlink it planted is followed out of it, and
  // only a real procfs is accepted.
  open_how how{};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  Fd proc = CELLS_SYSCALL_FD(int(::syscall(SYS_openat2, root.get(), "proc", &how, sizeof how)),
                             ctx + ": open the cell's /proc");
  struct statfs sfs {};
  CELLS_SYSCALL(::fstatfs(proc.get(), &sfs), ctx + ": statfs of the cell's /proc");
  if (sfs.f_type != PROC_SUPER_MAGIC) {
    return Error::invalid(ctx + ": the cell's /proc is not a procfs");
  }
  pollfd exited{pidfd.get(), POLLIN, 0};
  if (::poll(&exited, 1, 0) != 0) return Error::not_found(ctx + ": init has exited");
  return CellSampler::open_unpublished(
      cg.get(), proc.get(),
      CellSampler::Identity{identity.cid, identity.name, identity.root, identity.created_unix_ns});
}

Result<size_t> InstanceSampler::tick() {
  // Step 1: one flush of the whole instance. Each cell's own read below then finds its
  // counters flushed and walks no list (see the header).
  if (!instance_cpu_stat_.valid()) {
    instance_cpu_stat_ =
        Fd(::open((paths_.cgroup_parent() + "/cpu.stat").c_str(), O_RDONLY | O_CLOEXEC));
  }
  if (instance_cpu_stat_.valid()) {
    char buf[512];
    // The parent cgroup goes with the last cell and is made again with the next one.
    if (::pread(instance_cpu_stat_.get(), buf, sizeof buf, 0) < 0) instance_cpu_stat_.reset();
  }

  // Step 2: which cells exist: the snapshot's identities, confirmed by registry records.
  auto slots = CELLS_TRY(file_.read_all());
  std::set<uint32_t> present;
  size_t live = 0;
  for (const CellStats& id : slots) {
    present.insert(id.cid);
    auto it = cells_.find(id.cid);
    if (it != cells_.end() &&
        (it->second.last().name != id.name ||
         it->second.last().created_unix_ns != id.created_unix_ns)) {
      cells_.erase(it);
      it = cells_.end();
    }
    if (it == cells_.end()) {
      auto opened = open_cell(id);
      if (!opened) {
        // A cell being created (no record yet) or gone (no cgroup, no init) is not live;
        // anything else is a cell that exists and is tried again next round.
        const Error& e = opened.error();
        bool gone =
            e.kind() == ErrorKind::kNotFound || e.sys_errno() == ENOENT || e.sys_errno() == ESRCH;
        if (!gone) {
          ++live;
        } else if (::access((paths_.cgroup_parent() + "/" + id.name).c_str(), F_OK) != 0 &&
                   errno == ENOENT) {
          // A slot whose cgroup is gone names a destroyed cell: create publishes the slot
          // only after making the cgroup, and destroy removes the cgroup before the slot. It
          // is left by a destroy killed in between, or by the race below with a sampler
          // killed mid-round.
          (void)file_.clear(id.cid);
        }
        continue;
      }
      cells_.emplace(id.cid, std::move(opened).value());
    }
    ++live;
  }
  std::erase_if(cells_, [&](const auto& kv) { return !present.count(kv.first); });

  // Step 3: sample and publish each cell.
  if (!bpf_) {
    if (auto b = BpfPolicy::open_loaded(paths_); b.ok()) bpf_.emplace(std::move(b).value());
  }
  for (auto it = cells_.begin(); it != cells_.end();) {
    CellSampler& s = it->second;
    if (!s.sample()) {
      // Its cgroup is gone (destroyed since step 2); a cell still listed is opened again.
      it = cells_.erase(it);
      continue;
    }
    bool have_denials = false;
    if (bpf_) {
      auto d = bpf_->denials(it->first);
      if (d.ok()) {
        std::copy(std::begin(d->by_kind), std::end(d->by_kind), s.last().denials);
        have_denials = true;
      } else {
        bpf_.reset();  // the pins went (an unload); opened again next round
      }
    }
    (void)file_.write_sample(s.last());
    if (have_denials) (void)file_.write_denials(s.last());
    // A destroy clears the slot after removing the cgroup. If that clear came between the
    // sample and the writes above, the cell would be listed again for ever: such a slot is
    // cleared here, since the cgroup is already gone.
    if (!s.still_exists()) {
      (void)file_.clear(it->first);
      it = cells_.erase(it);
      continue;
    }
    ++it;
  }
  return live;
}

Result<bool> ensure_sampler(const Paths& paths) {
  const std::string ctx = "start the telemetry sampler";
  CELLS_TRY_CTX(make_dirs(paths.run_dir() + "/telemetry", 0755), ctx);
  std::string lock_path = sampler_lock_path(paths);
  Fd lock = CELLS_SYSCALL_FD(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600),
                             ctx + ": open " + lock_path);
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return false;  // a sampler runs
    return Error::sys(errno, ctx + ": lock " + lock_path);
  }
  std::string program = CELLS_TRY_CTX(find_sampler_program(), ctx);
  // Both above fd 3, so that every dup2 below moves a descriptor (a dup2 onto itself would keep
  // close-on-exec, and one onto 0..3 could overwrite the other before it is moved).
  Fd devnull_low =
      CELLS_SYSCALL_FD(::open("/dev/null", O_RDWR | O_CLOEXEC), ctx + ": open /dev/null");
  Fd devnull = CELLS_SYSCALL_FD(::fcntl(devnull_low.get(), F_DUPFD_CLOEXEC, 10), ctx + ": dup");
  Fd lock_high = CELLS_SYSCALL_FD(::fcntl(lock.get(), F_DUPFD_CLOEXEC, 10), ctx + ": dup");
  int p[2];
  CELLS_SYSCALL(::pipe2(p, O_CLOEXEC), ctx + ": pipe");
  Fd report_read(p[0]), report_write(p[1]);
  // Everything the children use is made before fork: the caller may be threaded, so they
  // make system calls only.
  std::string root = paths.root;
  char* argv[] = {const_cast<char*>("cells-sampler"), const_cast<char*>("--root"), root.data(),
                  nullptr};
  // Step 1: a child leaves the caller's session; step 2: its child, the sampler, is re-parented
  // to init when the first child exits at once, so no caller ever has to reap it. The lock goes
  // to the sampler on fd 3 and stays locked across the exec (a flock belongs to the open file).
  pid_t child = ::fork();
  if (child < 0) return Error::sys(errno, ctx + ": fork");
  if (child == 0) {
    if (::setsid() < 0) ::_exit(1);
    pid_t sampler = ::fork();
    if (sampler != 0) ::_exit(sampler < 0 ? 1 : 0);
    auto fail = [&report_write] {
      int err = errno;
      (void)!::write(report_write.get(), &err, sizeof err);
      ::_exit(127);
    };
    if (::dup2(devnull.get(), 0) < 0 || ::dup2(devnull.get(), 1) < 0 ||
        ::dup2(devnull.get(), 2) < 0 || ::dup2(lock_high.get(), kSamplerLockFd) < 0 ||
        ::chdir("/") != 0) {
      fail();
    }
    // Nothing else the caller had open lives on in the sampler (a caller's store files, say,
    // whose descriptors need not be close-on-exec); the report pipe closes at exec.
    if (::close_range(kSamplerLockFd + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail();
    ::execve(program.c_str(), argv, environ);
    fail();
  }
  report_write.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(ErrorKind::kSystem, ctx + ": the launcher child failed");
  }
  // EOF once the sampler's exec closed its copy of the pipe; an errno if it failed first.
  int err = 0;
  ssize_t n;
  while ((n = ::read(report_read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
  }
  if (n == ssize_t(sizeof err)) return Error::sys(err, ctx + ": exec " + program);
  return true;
}

Result<bool> stop_sampler(const Paths& paths) {
  std::string lock_path = sampler_lock_path(paths);
  Fd lock(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!lock.valid()) {
    if (errno == ENOENT) return false;
    return Error::sys(errno, "stop the telemetry sampler: open " + lock_path);
  }
  if (wait_unlocked(lock.get(), 0)) return false;
  // Only a process that is this installation's sampler is signalled: a pid in the file may
  // have been reused since. A sampler writes its pid just after its exec, so a stop that
  // comes right after a start can find the lock held and the file still empty; it reads the
  // file again until the pid appears or the lock is let go.
  const std::string want =
      std::string("cells-sampler") + '\0' + "--root" + '\0' + paths.root + '\0';
  pid_t pid = 0;
  for (int waited = 0; waited <= 5000; waited += 10) {
    auto text = CELLS_TRY_CTX(read_file(lock_path), "stop the telemetry sampler");
    pid = 0;
    std::from_chars(text.data(), text.data() + text.size(), pid);
    auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    if (pid > 0 && cmdline && *cmdline == want) {
      ::kill(pid, SIGTERM);
      if (!wait_unlocked(lock.get(), 5000)) ::kill(pid, SIGKILL);
      break;
    }
    if (wait_unlocked(lock.get(), 10)) return true;
  }
  if (!wait_unlocked(lock.get(), 5000)) {
    return Error(ErrorKind::kBusy, "stop the telemetry sampler: " + lock_path +
                                       " is still held (by pid " + std::to_string(pid) + "?)");
  }
  return true;
}

int run_sampler(const Paths& paths, int lock_fd) {
  Fd lock(lock_fd);
  if (!lock.valid()) {
    lock = Fd(::open(sampler_lock_path(paths).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!lock.valid()) return 1;
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return errno == EWOULDBLOCK ? 0 : 1;
  }
  ::fcntl(lock.get(), F_SETFD, FD_CLOEXEC);
  write_pid(lock.get());
  // Three descriptors per cell: with a shell's usual soft limit of 1,024 the sampler would stop
  // taking on cells at about 340.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  auto sampler = InstanceSampler::open(paths);
  if (!sampler) return 1;
  Fd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
  itimerspec every_second{{1, 0}, {1, 0}};
  if (!timer.valid() || ::timerfd_settime(timer.get(), 0, &every_second, nullptr) != 0) return 1;
  for (;;) {
    auto live = sampler->tick();
    // The snapshot file gone or unreadable: the installation was reset under us.
    if (!live) return 1;
    if (*live == 0) {
      // The handover (see the header): unlock, then look once more. A create that saved its
      // record before this look is seen; one that saves it later finds the lock free.
      ::flock(lock.get(), LOCK_UN);
      auto again = sampler->tick();
      if (!again || *again == 0) return 0;
      if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) return 0;  // a new sampler took over
      write_pid(lock.get());
    }
    uint64_t expirations = 0;
    while (::read(timer.get(), &expirations, sizeof expirations) < 0 && errno == EINTR) {
    }
  }
}

}  // namespace cells::kernel
