#include "kernel/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "base/files.h"
#include "base/syscall.h"
#include "base/text.h"

namespace cells::kernel {
namespace {

Result<std::string> read_at(int dirfd, const char* file, const std::string& path) {
  Fd fd = CELLS_SYSCALL_FD(openat(dirfd, file, O_RDONLY | O_CLOEXEC), "open " + path + "/" + file);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = CELLS_SYSCALL(read(fd.get(), buf, sizeof buf), "read " + path + "/" + file);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

Result<CellCgroup> CellCgroup::create(const std::string& parent, const std::string& name) {
  CELLS_TRY(make_dirs(parent));
  std::string path = parent + "/" + name;
  if (mkdir(path.c_str(), 0755) != 0) {
    if (errno == EEXIST) {
      return Error(ErrorKind::kExists, "cell " + name + " exists already (cgroup " + path + ")");
    }
    return Error::sys(errno, "mkdir " + path);
  }
  auto opened = open(parent, name);
  if (!opened) rmdir(path.c_str());
  return opened;
}

Result<CellCgroup> CellCgroup::open(const std::string& parent, const std::string& name) {
  std::string path = parent + "/" + name;
  int raw = ::open(path.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return Error::not_found("no cgroup " + path);
    return Error::sys(errno, "open cgroup " + path);
  }
  Fd fd(raw);
  struct stat st {};
  CELLS_SYSCALL(fstat(fd.get(), &st), "stat cgroup " + path);
  return CellCgroup(path, std::move(fd), st.st_ino);
}

bool CellCgroup::exists(const std::string& parent, const std::string& name) {
  return id_of(parent, name).has_value();
}

std::optional<uint64_t> CellCgroup::id_of(const std::string& parent, const std::string& name) {
  std::string path = parent + "/" + name;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return uint64_t(st.st_ino);
}

Result<std::map<std::string, uint64_t>> CellCgroup::ids_under(const std::string& parent) {
  std::map<std::string, uint64_t> out;
  DIR* dir = ::opendir(parent.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return out;
    return Error::sys(errno, "open cgroup " + parent);
  }
  // The control files (cgroup.procs, memory.max, ...) are regular files; cells are directories.
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_type == DT_DIR && e->d_name[0] != '.') out.emplace(e->d_name, uint64_t(e->d_ino));
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return Error::sys(err, "read cgroup " + parent);
  return out;
}

Result<std::vector<pid_t>> CellCgroup::pids() const {
  std::string text = CELLS_TRY(read_at(fd_.get(), "cgroup.procs", path_));
  std::vector<pid_t> out;
  for (std::string_view line : lines(text)) {
    if (!line.empty()) out.push_back(static_cast<pid_t>(std::stol(std::string(line))));
  }
  return out;
}

Result<bool> CellCgroup::populated() const {
  std::string text = CELLS_TRY(read_at(fd_.get(), "cgroup.events", path_));
  auto pos = text.find("populated ");
  if (pos == std::string::npos) {
    return Error(ErrorKind::kCorrupt, path_ + "/cgroup.events has no populated line");
  }
  return text[pos + 10] == '1';
}

Status CellCgroup::kill() const {
  Fd fd = CELLS_SYSCALL_FD(openat(fd_.get(), "cgroup.kill", O_WRONLY | O_CLOEXEC),
                           "open " + path_ + "/cgroup.kill");
  CELLS_SYSCALL(write(fd.get(), "1", 1), "write " + path_ + "/cgroup.kill");
  return ok_status();
}

Status CellCgroup::wait_empty(std::chrono::milliseconds timeout) const {
  // cgroup.events signals POLLPRI whenever its content changes; the read after each wake-up
  // is what decides, so a change between read and poll is never missed (poll returns at once
  // for an event that happened after the last read of this open file).
  Fd fd = CELLS_SYSCALL_FD(openat(fd_.get(), "cgroup.events", O_RDONLY | O_CLOEXEC),
                           "open " + path_ + "/cgroup.events");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    char buf[256];
    ssize_t n = CELLS_SYSCALL(pread(fd.get(), buf, sizeof buf - 1, 0),
                              "read " + path_ + "/cgroup.events");
    buf[n] = '\0';
    if (std::string_view(buf).find("populated 0") != std::string_view::npos) return ok_status();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error(ErrorKind::kBusy, "cgroup " + path_ + " still has processes after " +
                                         std::to_string(timeout.count()) + " ms");
    }
    struct pollfd p {fd.get(), POLLPRI, 0};
    CELLS_SYSCALL(poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100))),
                  "poll " + path_ + "/cgroup.events");
  }
}

Status CellCgroup::remove() const {
  for (int attempt = 0;; ++attempt) {
    if (rmdir(path_.c_str()) == 0 || errno == ENOENT) return ok_status();
    if (errno != EBUSY || attempt >= 200) return Error::sys(errno, "rmdir " + path_);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace cells::kernel
