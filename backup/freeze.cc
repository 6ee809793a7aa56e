#include "backup/freeze.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>

#include <sstream>

#include "base/files.h"
#include "base/syscall.h"

namespace cells::backup {
namespace {

Status write_freeze(const std::string& cgroup, const char* value) {
  std::string path = cgroup + "/cgroup.freeze";
  int raw = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) {
      return Error(ErrorKind::kNotFound,
                   "no cgroup.freeze in " + cgroup +
                       " (not a cgroup v2 "
                       "directory, or the cell is gone)",
                   ENOENT);
    }
    return Error::sys(errno, "open " + path);
  }
  Fd fd(raw);
  CELLS_SYSCALL(::write(fd.get(), value, 1), "write " + path);
  return ok_status();
}

// Waits for "frozen 1" in CGROUP/cgroup.events until DEADLINE. The watch is added before the
// first read, so a change between the read and the wait still wakes the poll.
Status wait_frozen(const std::string& cgroup, std::chrono::steady_clock::time_point deadline) {
  Fd ino = CELLS_SYSCALL_FD(inotify_init1(IN_CLOEXEC | IN_NONBLOCK), "inotify_init1");
  std::string events = cgroup + "/cgroup.events";
  CELLS_SYSCALL(inotify_add_watch(ino.get(), events.c_str(), IN_MODIFY), "watch " + events);
  for (;;) {
    if (CELLS_TRY(cgroup_event(cgroup, "frozen")) == 1) return ok_status();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error(ErrorKind::kBusy, "cgroup " + cgroup + " did not report frozen in time");
    }
    // Re-read at least every 50 ms even without an event: cheap insurance against a kernel
    // that does not signal cgroup.events changes to inotify.
    pollfd p{ino.get(), POLLIN, 0};
    CELLS_SYSCALL(::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50))),
                  "poll " + events);
    char buf[4096];
    while (::read(ino.get(), buf, sizeof buf) > 0) {
    }
  }
}

}  // namespace

Result<int> cgroup_event(const std::string& cgroup, const std::string& key) {
  std::string text = CELLS_TRY(read_file(cgroup + "/cgroup.events"));
  std::istringstream in(text);
  std::string k;
  int v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return Error(ErrorKind::kNotFound, "no '" + key + "' in " + cgroup + "/cgroup.events");
}

Result<CgroupFreeze> CgroupFreeze::freeze(const std::vector<std::string>& cgroups,
                                          std::chrono::milliseconds timeout) {
  CgroupFreeze f;
  f.since_ = std::chrono::steady_clock::now();
  auto deadline = f.since_ + timeout;
  // Write 1 to every cgroup first and wait afterwards, so the cells freeze in parallel and
  // the total wait is the slowest one rather than the sum. F thaws what it holds on return.
  for (const std::string& cg : cgroups) {
    if (auto st = write_freeze(cg, "1"); !st) return std::move(st).error().wrap("freeze");
    f.frozen_.push_back(cg);
  }
  for (const std::string& cg : cgroups) {
    if (auto st = wait_frozen(cg, deadline); !st) return std::move(st).error().wrap("freeze");
  }
  return f;
}

CgroupFreeze::CgroupFreeze(CgroupFreeze&& other) noexcept
    : frozen_(std::move(other.frozen_)), since_(other.since_), frozen_for_(other.frozen_for_) {
  other.frozen_.clear();
}

CgroupFreeze& CgroupFreeze::operator=(CgroupFreeze&& other) noexcept {
  if (this != &other) {
    thaw();
    frozen_ = std::move(other.frozen_);
    other.frozen_.clear();
    since_ = other.since_;
    frozen_for_ = other.frozen_for_;
  }
  return *this;
}

void CgroupFreeze::thaw_left(const std::vector<std::string>& cgroups) {
  for (const std::string& cg : cgroups) (void)write_freeze(cg, "0");
}

std::chrono::nanoseconds CgroupFreeze::thaw() {
  if (frozen_.empty()) return frozen_for_;
  for (const std::string& cg : frozen_) (void)write_freeze(cg, "0");
  frozen_.clear();
  frozen_for_ = std::chrono::steady_clock::now() - since_;
  return frozen_for_;
}

}  // namespace cells::backup
