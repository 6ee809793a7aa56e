#include "backup/tree_remove.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "base/fd.h"
#include "base/syscall.h"

namespace cells::backup {
namespace {

// ioprio_set(2) values (linux/ioprio.h, whose C++ form does not compile with g++ 12 here).
constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioIdle = 3 << 13;  // IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT, level 0

// Opens directory NAME of the directory open as DFD, never through a symlink (ELOOP) and never
// onto another mount (EXDEV: openat2(2) RESOLVE_NO_XDEV also catches bind mounts of the same
// filesystem, which an st_dev comparison would not). Returns the fd or -1 with errno.
int open_subdir(int dfd, const char* name) {
  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV;
  return static_cast<int>(
      detail::retry_eintr([&] { return ::syscall(SYS_openat2, dfd, name, &how, sizeof how); }));
}

Error mount_point(const std::string& path) {
  return Error(ErrorKind::kBusy, "refusing to remove " + path + ": it is a mount point", EXDEV);
}

// Empties the directory open as DFD (named PATH in errors). Names are read first and removed
// after the listing is closed, so the walk never reads a directory it is changing.
Status empty_dir(Fd dfd, const std::string& path) {
  std::vector<std::pair<std::string, unsigned char>> names;
  {
    DIR* d = ::fdopendir(dfd.get());
    if (d == nullptr) return Error::sys(errno, "open " + path);
    dfd.release();  // owned by D now
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      names.emplace_back(std::string(n), e->d_type);
    }
    int err = errno;
    // Reopened below for the unlinks: DIR's fd is closed with it.
    int again = ::openat(::dirfd(d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int open_err = errno;
    ::closedir(d);
    if (err != 0) {
      if (again >= 0) ::close(again);
      return Error::sys(err, "read " + path);
    }
    if (again < 0) return Error::sys(open_err, "open " + path);
    dfd.reset(again);
  }
  for (const auto& [name, type] : names) {
    // Directories come with DT_DIR on every filesystem cells writes to; DT_UNKNOWN is tried as a
    // file first and recursed into on EISDIR.
    if (type != DT_DIR) {
      if (::unlinkat(dfd.get(), name.c_str(), 0) == 0 || errno == ENOENT) continue;
      if (errno != EISDIR) return Error::sys(errno, "remove " + path + "/" + name);
    }
    int sub = open_subdir(dfd.get(), name.c_str());
    if (sub < 0) {
      if (errno == ENOENT) continue;
      if (errno == EXDEV) return mount_point(path + "/" + name);
      return Error::sys(errno, "open " + path + "/" + name);
    }
    CELLS_TRY(empty_dir(Fd(sub), path + "/" + name));
    if (::unlinkat(dfd.get(), name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return Error::sys(errno, "remove " + path + "/" + name);
    }
  }
  return ok_status();
}

}  // namespace

Status remove_tree(const std::string& path) {
  // PATH is opened from its parent, so that PATH itself being a mount point is caught too.
  const size_t slash = path.find_last_of('/');
  const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  int praw = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (praw < 0) {
    if (errno == ENOENT) return ok_status();
    return Error::sys(errno, "open " + parent);
  }
  Fd pfd(praw);
  int raw = open_subdir(pfd.get(), base.c_str());
  if (raw < 0) {
    if (errno == ENOENT) return ok_status();
    if (errno == EXDEV) return mount_point(path);
    // Not a directory (or a symlink to one): remove the name itself.
    if (errno == ENOTDIR || errno == ELOOP) {
      if (::unlinkat(pfd.get(), base.c_str(), 0) == 0 || errno == ENOENT) return ok_status();
    }
    return Error::sys(errno, "remove " + path);
  }
  CELLS_TRY(empty_dir(Fd(raw), path));
  if (::unlinkat(pfd.get(), base.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Error::sys(errno, "remove " + path);
  }
  return ok_status();
}

Status remove_tree_detached(const std::string& path, int lock_fd) {
  // The remover starts with a copy of every fd, the caller's writer lock among them, until its
  // close_range. Returning before that let the caller's next operation find its own lock
  // still held (crash_restore under load: "restored, but starting a again failed: another
  // operation is running"), so the caller waits for the end of this pipe the remover closes
  // last, after every other inherited fd.
  int ends[2];
  CELLS_SYSCALL(::pipe2(ends, O_CLOEXEC), "pipe to remove " + path);
  Fd done_read(ends[0]), done_write(ends[1]);
  pid_t child = ::fork();
  if (child < 0) return Error::sys(errno, "fork to remove " + path);
  if (child == 0) {
    // The intermediate process exits at once, so the remover is nobody's zombie.
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    // Steps, in this order: stdio to /dev/null (a caller reading our stdout until EOF must
    // not wait for the removal), the lock to fd 3, the pipe to fd 4, everything else closed
    // (an inherited writer lock would block the next operation), then the pipe (the caller
    // may go on), idle I/O priority, then the removal.
    int lock = ::fcntl(lock_fd, F_DUPFD, 10);
    int done = ::fcntl(done_write.get(), F_DUPFD, 10);
    int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
    ::dup2(lock, 3);
    ::dup2(done, 4);
    ::syscall(SYS_close_range, 5u, ~0u, 0u);
    ::close(4);
    ::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, kIoprioIdle);
    ::_exit(remove_tree(path).ok() ? 0 : 1);
  }
  done_write = Fd();
  int status = 0;
  detail::retry_eintr([&] { return ::waitpid(child, &status, 0); });
  // EOF once the remover closed its copies (or died); a failed read is the same signal.
  char byte;
  detail::retry_eintr([&] { return ::read(done_read.get(), &byte, 1); });
  return ok_status();
}

}  // namespace cells::backup
