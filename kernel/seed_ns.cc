#include "kernel/seed_ns.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/files.h"
#include "base/syscall.h"
#include "kernel/rootfs.h"

namespace cells::kernel {
namespace {

std::string seed_dir(const Paths& paths) { return paths.run_dir() + "/ns"; }

bool is_mount_root(const std::string& path) {
  struct statx sx {};
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, 0, &sx) != 0) return false;
  return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
         (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

// The pinned seed, or an invalid Fd when nothing is pinned at PIN (no file, or the plain file
// a killed creator left).
Result<Fd> open_pin(const std::string& pin) {
  int fd = ::open(pin.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Fd();
    return Error::sys(errno, "open " + pin);
  }
  Fd f(fd);
  struct statfs sf {};
  CELLS_SYSCALL(fstatfs(f.get(), &sf), "statfs " + pin);
  if (sf.f_type != NSFS_MAGIC) return Fd();
  int type = CELLS_SYSCALL(ioctl(f.get(), NS_GET_NSTYPE), "namespace type of " + pin);
  if (type != CLONE_NEWNS) {
    return Error::invalid(pin + " pins a namespace that is not a mount namespace");
  }
  return f;
}

// What the child that builds the seed needs, prepared before the fork (it only makes system
// calls: the caller may be threaded).
struct SeedPlan {
  std::string dir;       // <run>/ns, where the seed's tmpfs is mounted before pivot_root
  std::string cell_dir;  // dir + kSeedCellDir
  std::string dev_dir;   // dir + "/dev"
  std::vector<RootfsPlan::Node> nodes;  // host /dev/null -> dir/dev/null, ...
};

enum class SeedStep : int { kOk = 0, kUnshare, kPrivate, kTmpfs, kDirs, kNodes, kPivot, kDetach };

const char* to_string(SeedStep s) {
  switch (s) {
    case SeedStep::kOk: return "ok";
    case SeedStep::kUnshare: return "unshare the mount namespace";
    case SeedStep::kPrivate: return "make mounts private";
    case SeedStep::kTmpfs: return "mount the seed's tmpfs";
    case SeedStep::kDirs: return "make the seed's directories";
    case SeedStep::kNodes: return "bind device nodes into the seed";
    case SeedStep::kPivot: return "pivot_root into the seed";
    case SeedStep::kDetach: return "detach the host root from the seed";
  }
  return "unknown step";
}

struct SeedReport {
  int32_t step = 0;
  int32_t err = 0;
};

// In the forked child: builds the seed namespace, reports on READY_FD, then holds the namespace
// until the parent has pinned it and closes HOLD_FD (or dies: EOF either way).
[[noreturn]] void build_seed(const SeedPlan& p, int ready_fd, int hold_fd) {
  auto fail = [&](SeedStep s) {
    SeedReport r{static_cast<int32_t>(s), errno};
    (void)!write(ready_fd, &r, sizeof r);
    _exit(1);
  };
  // Step order matters:
  // 1. A namespace of our own whose mounts never propagate back to the host.
  if (unshare(CLONE_NEWNS) != 0) fail(SeedStep::kUnshare);
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(SeedStep::kPrivate);
  // 2. Its future root: a tiny tmpfs over <run>/ns (in this namespace only).
  if (mount("tmpfs", p.dir.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0) {
    fail(SeedStep::kTmpfs);
  }
  if (mkdir(p.cell_dir.c_str(), 0755) != 0 || mkdir(p.dev_dir.c_str(), 0755) != 0) {
    fail(SeedStep::kDirs);
  }
  // 3. The host's device nodes a cell's /dev binds, while the host's /dev is still in reach.
  for (const auto& n : p.nodes) {
    int fd = open(n.target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) fail(SeedStep::kNodes);
    close(fd);
    if (mount(n.host.c_str(), n.target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      fail(SeedStep::kNodes);
    }
  }
  // 4. The tmpfs becomes the root and the copy of the host's mounts is dropped: what is left
  //    is all a cell's namespace will copy.
  if (chdir(p.dir.c_str()) != 0 || syscall(SYS_pivot_root, ".", ".") != 0) fail(SeedStep::kPivot);
  if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) fail(SeedStep::kDetach);
  SeedReport ok;
  if (write(ready_fd, &ok, sizeof ok) != sizeof ok) _exit(1);
  char c;
  while (read(hold_fd, &c, 1) < 0 && errno == EINTR) {
  }
  _exit(0);
}

// Forks the builder, pins its namespace at PIN once it is ready, and lets it go.
Status make_seed(const Paths& paths, const std::string& pin) {
  SeedPlan plan;
  plan.dir = seed_dir(paths);
  plan.cell_dir = plan.dir + kSeedCellDir;
  plan.dev_dir = plan.dir + "/dev";
  for (const char* n : kCellDevNodes) {
    plan.nodes.push_back({std::string("/dev/") + n, plan.dev_dir + "/" + n});
  }
  int ready[2], hold[2];
  CELLS_SYSCALL(pipe2(ready, O_CLOEXEC), "pipe");
  Fd ready_read(ready[0]), ready_write(ready[1]);
  CELLS_SYSCALL(pipe2(hold, O_CLOEXEC), "pipe");
  Fd hold_read(hold[0]), hold_write(hold[1]);
  pid_t pid = fork();
  if (pid < 0) return Error::sys(errno, "fork the seed builder");
  if (pid == 0) {
    hold_write.reset();  // so the builder sees EOF when the parent closes its end (or dies)
    build_seed(plan, ready_write.get(), hold_read.get());
  }
  ready_write.reset();
  hold_read.reset();
  auto reap = [&] {
    hold_write.reset();
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  SeedReport r;
  ssize_t n;
  do {
    n = read(ready_read.get(), &r, sizeof r);
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof r)) {
    reap();
    return Error(ErrorKind::kSystem, "seed mount namespace: builder died without a report");
  }
  if (r.step != 0) {
    reap();
    return Error::sys(r.err, std::string("seed mount namespace: ") +
                                 to_string(static_cast<SeedStep>(r.step)));
  }
  // The pin: the builder's namespace file bound onto a file of the private <run>/ns.
  int fd = ::open(pin.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    int err = errno;
    reap();
    return Error::sys(err, "create " + pin);
  }
  ::close(fd);
  const std::string source = "/proc/" + std::to_string(pid) + "/ns/mnt";
  int rc = mount(source.c_str(), pin.c_str(), nullptr, MS_BIND, nullptr);
  int err = errno;
  reap();
  if (rc != 0) return Error::sys(err, "pin the seed mount namespace at " + pin);
  return ok_status();
}

}  // namespace

std::string seed_pin_path(const Paths& paths) { return seed_dir(paths) + "/mnt-seed"; }

Result<Fd> ensure_seed_mount_ns(const Paths& paths) {
  const std::string dir = seed_dir(paths);
  const std::string pin = seed_pin_path(paths);
  // Step 1: the pin, when an earlier create made it (every create after the first).
  if (Fd seed = CELLS_TRY(open_pin(pin)); seed.valid()) return seed;
  // Step 2: <run>/ns as a private mount of its own: a namespace file cannot be bound onto a
  // shared mount (systemd makes / shared), and a private one keeps the pin out of every other
  // namespace.
  CELLS_TRY(make_dirs(dir, 0700));
  if (!is_mount_root(dir)) {
    CELLS_SYSCALL(mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr), "bind " + dir);
  }
  CELLS_SYSCALL(mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr),
                "make " + dir + " private");
  // Step 3: the namespace, built by a child and pinned before the child exits.
  CELLS_TRY(make_seed(paths, pin));
  Fd seed = CELLS_TRY(open_pin(pin));
  if (!seed.valid()) {
    return Error(ErrorKind::kSystem, "seed mount namespace: nothing pinned at " + pin);
  }
  return seed;
}

Result<bool> release_seed_mount_ns(const Paths& paths) {
  const std::string dir = seed_dir(paths);
  const std::string pin = seed_pin_path(paths);
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return false;
    return Error::sys(errno, "stat " + dir);
  }
  // The pin first, then the directory's own mount it sits on (either may be missing when a
  // create was killed half way).
  if (umount2(pin.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return Error::sys(errno, "unpin the seed mount namespace at " + pin);
  }
  if (is_mount_root(dir) && umount2(dir.c_str(), MNT_DETACH) != 0) {
    return Error::sys(errno, "unmount " + dir);
  }
  if (unlink(pin.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + pin);
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + dir);
  return true;
}

int enter_seed_copy(int seed_fd) {
  // Joining moves our root and working directory to the seed's; the copy is what the cell's
  // mounts go into, so the seed itself never changes.
  if (setns(seed_fd, CLONE_NEWNS) != 0) return -1;
  return unshare(CLONE_NEWNS);
}

}  // namespace cells::kernel
