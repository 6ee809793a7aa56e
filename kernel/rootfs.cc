#include "kernel/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/syscall.h"

namespace cells::kernel {

const char* to_string(SetupStep s) {
  switch (s) {
    case SetupStep::kNone: return "none";
    case SetupStep::kSetsid: return "setsid";
    case SetupStep::kEnterSeed: return "enter a copy of the seed mount namespace";
    case SetupStep::kMakePrivate: return "make mounts private";
    case SetupStep::kAttachRoot: return "attach the cell root";
    case SetupStep::kMountProc: return "mount /proc";
    case SetupStep::kMountDev: return "mount /dev";
    case SetupStep::kDevNodes: return "bind device nodes into /dev";
    case SetupStep::kMountDevpts: return "mount /dev/pts";
    case SetupStep::kMountShm: return "mount /dev/shm";
    case SetupStep::kHostname: return "set the hostname";
    case SetupStep::kPivotRoot: return "pivot_root";
    case SetupStep::kDetachOldRoot: return "detach the seed root";
    case SetupStep::kJoinUserns: return "join the user namespace";
    case SetupStep::kDropGroups: return "clear supplementary groups";
    case SetupStep::kSetIds: return "become root of the user namespace";
    case SetupStep::kStdio: return "set up stdio";
    case SetupStep::kExecInit: return "exec the cell init";
  }
  return "unknown step";
}

RootfsPlan make_rootfs_plan(const std::string& root) {
  RootfsPlan p;
  p.root = root;
  p.proc = root + "/proc";
  p.dev = root + "/dev";
  p.devpts = root + "/dev/pts";
  p.devshm = root + "/dev/shm";
  p.ptmx = root + "/dev/ptmx";
  for (const char* n : kCellDevNodes) p.nodes.push_back({std::string("/dev/") + n, p.dev + "/" + n});
  p.links = {{"pts/ptmx", p.ptmx},
             {"/proc/self/fd", p.dev + "/fd"},
             {"/proc/self/fd/0", p.dev + "/stdin"},
             {"/proc/self/fd/1", p.dev + "/stdout"},
             {"/proc/self/fd/2", p.dev + "/stderr"}};
  return p;
}

Status check_root(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return Error::invalid("root '" + root + "' must be an absolute path");
  }
  for (char c : root) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error::invalid("root '" + root + "' contains a control character");
    }
  }
  struct stat st {};
  if (stat(root.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error::invalid("root " + root + " does not exist");
    return Error::sys(errno, "stat root " + root);
  }
  if (!S_ISDIR(st.st_mode)) return Error::invalid("root " + root + " is not a directory");
  // The mount points may be missing (ensure_mount_points makes them) but not anything else:
  // lstat, because a symlink would send the /proc or /dev mount wherever it points.
  for (const char* d : {"/proc", "/dev"}) {
    std::string path = root + d;
    if (lstat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
      return Error::invalid(path + " is not a directory");
    }
  }
  return ok_status();
}

Status ensure_mount_points(const std::string& root) {
  for (const char* d : {"/proc", "/dev"}) {
    std::string path = root + d;
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      return Error::sys(errno, "mkdir " + path);
    }
    // lstat: a symlink here would send the /proc or /dev mount wherever it points.
    struct stat st {};
    CELLS_SYSCALL(lstat(path.c_str(), &st), "stat " + path);
    if (!S_ISDIR(st.st_mode)) return Error::invalid(path + " is not a directory");
  }
  return ok_status();
}

SetupStep enter_rootfs(const RootfsPlan& p, int tree_fd, const char* hostname) {
  // Step order matters:
  // 1. Nothing we mount may propagate anywhere, so every mount becomes private first (the
  //    seed's already are; this keeps the guarantee local).
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return SetupStep::kMakePrivate;
  }
  // 2. The detached tree (idmapped for high) goes on top of the root directory itself, so
  //    the host directory needs no extra mount point and pivot_root gets a mount to pivot to.
  if (move_mount(tree_fd, "", AT_FDCWD, p.root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return SetupStep::kAttachRoot;
  }
  // 3. A proc of our PID namespace. (Mounted before the pivot: outside the initial user
  //    namespace the kernel refuses a proc mount once no fully visible proc is in reach.)
  if (mount("proc", p.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    return SetupStep::kMountProc;
  }
  // 4. /dev: a tmpfs with nodes bound from the seed's /dev, which holds the host's (no
  //    mknod: cells never create device nodes).
  if (mount("tmpfs", p.dev.c_str(), "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=64k") != 0) {
    return SetupStep::kMountDev;
  }
  for (const auto& n : p.nodes) {
    int fd = open(n.target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
    if (fd < 0) return SetupStep::kDevNodes;
    close(fd);
    if (mount(n.host.c_str(), n.target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      return SetupStep::kDevNodes;
    }
  }
  if (mkdir(p.devpts.c_str(), 0755) != 0 ||
      mount("devpts", p.devpts.c_str(), "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620") != 0) {
    return SetupStep::kMountDevpts;
  }
  if (mkdir(p.devshm.c_str(), 01777) != 0 ||
      mount("shm", p.devshm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") != 0) {
    return SetupStep::kMountShm;
  }
  for (const auto& l : p.links) {
    if (symlink(l.target.c_str(), l.path.c_str()) != 0) return SetupStep::kDevNodes;
  }
  if (sethostname(hostname, strlen(hostname)) != 0) return SetupStep::kHostname;
  // 5. pivot_root(".", ".") stacks the old root under the new one without needing a
  //    directory for it inside the cell's root; the detach then drops the seed from view.
  if (chdir(p.root.c_str()) != 0 || syscall(SYS_pivot_root, ".", ".") != 0) {
    return SetupStep::kPivotRoot;
  }
  if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) return SetupStep::kDetachOldRoot;
  return SetupStep::kNone;
}

}  // namespace cells::kernel
