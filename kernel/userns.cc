#include "kernel/userns.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "base/files.h"
#include "base/syscall.h"
#include "kernel/namespaces.h"

namespace cells::kernel {

IdRange id_range_for_cid(uint32_t cid) {
  constexpr uint64_t kBase = 1ull << 30;
  constexpr uint32_t kSlots = 49151;  // (2^32 - 1 - 2^30) / 65536, rounded down
  return IdRange{static_cast<uint32_t>(kBase + uint64_t{kIdRangeSize} * (cid % kSlots)),
                 kIdRangeSize};
}

Result<Fd> create_user_namespace(const IdRange& range) {
  // The helper only has to exist while its maps are written and its namespace is opened; it
  // blocks reading a pipe and exits when the parent closes the write end.
  int p[2];
  CELLS_SYSCALL(pipe2(p, O_CLOEXEC), "pipe");
  Fd hold_read(p[0]), hold_write(p[1]);
  struct clone_args args {};
  args.flags = CLONE_NEWUSER;
  args.exit_signal = SIGCHLD;
  pid_t pid = clone3_fork(&args);
  if (pid < 0) return Error::sys(errno, "clone3(CLONE_NEWUSER)");
  if (pid == 0) {
    close(p[1]);  // our copy of the write end would keep the read below from seeing EOF
    char c;
    (void)!read(p[0], &c, 1);
    _exit(0);
  }
  auto finish = [&] {
    hold_write.reset();
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };
  std::string proc = "/proc/" + std::to_string(pid);
  std::string map = "0 " + std::to_string(range.host_base) + " " + std::to_string(range.count) + "\n";
  // Host root writes both maps (CAP_SETUID/CAP_SETGID in the parent namespace), so setgroups
  // stays allowed: init and spawned processes can then clear their supplementary groups.
  for (const char* file : {"/uid_map", "/gid_map"}) {
    std::string path = proc + file;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map.data(), map.size()) != static_cast<ssize_t>(map.size())) {
      int err = errno;
      if (fd >= 0) close(fd);
      finish();
      return Error::sys(err, "write " + path);
    }
    close(fd);
  }
  std::string ns = proc + "/ns/user";
  int fd = ::open(ns.c_str(), O_RDONLY | O_CLOEXEC);
  int err = errno;
  finish();
  if (fd < 0) return Error::sys(err, "open " + ns);
  return Fd(fd);
}

Result<Fd> plain_tree(const std::string& path) {
  return CELLS_SYSCALL_FD(
      open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE),
      "open_tree " + path);
}

Result<Fd> idmapped_tree(const std::string& path, int userns_fd) {
  Fd tree = CELLS_TRY(plain_tree(path));
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  CELLS_SYSCALL(mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
                "idmap mount of " + path);
  return tree;
}

}  // namespace cells::kernel
