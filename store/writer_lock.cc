#include "store/writer_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "base/files.h"
#include "base/syscall.h"

namespace cells::store {
namespace {

std::string lock_path(const std::string& dir) { return dir + "/writer.lock"; }

// One field per line, "key value", so that a command line with spaces survives; the command
// line is last and takes the rest of its line (newlines in it are flattened).
std::string encode_owner(const LockOwner& o) {
  std::string cmd = o.command_line;
  for (char& c : cmd) {
    if (c == '\n') c = ' ';
  }
  return "op " + std::to_string(o.operation_id) + "\npid " + std::to_string(o.pid) + "\nkind " +
         o.kind + "\ntarget " + o.target + "\ncmd " + cmd + "\n";
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// The processes (other than this one) with PATH open, as "pid P (comm)". Asked only when the
// recorded holder is dead but the flock is still held: an flock belongs to the open file, so a
// process that inherited the descriptor (a child forked before the kill, not yet exec'd) holds
// it on. Naming it tells the operator what to wait for or stop.
std::vector<std::string> processes_holding(const std::string& path) {
  std::vector<std::string> out;
  struct stat want;
  if (::stat(path.c_str(), &want) != 0) return out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (struct dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == ::getpid()) continue;
    const std::string fd_dir = std::string("/proc/") + e->d_name + "/fd";
    DIR* fds = ::opendir(fd_dir.c_str());
    if (fds == nullptr) continue;  // exited meanwhile, or not ours to read
    bool holds = false;
    while (struct dirent* f = ::readdir(fds)) {
      struct stat st;
      if (f->d_name[0] != '.' && ::fstatat(::dirfd(fds), f->d_name, &st, 0) == 0 &&
          st.st_dev == want.st_dev && st.st_ino == want.st_ino) {
        holds = true;
        break;
      }
    }
    ::closedir(fds);
    if (!holds) continue;
    auto comm = read_file(std::string("/proc/") + e->d_name + "/comm");
    std::string name = comm ? *comm : "?";
    while (!name.empty() && name.back() == '\n') name.pop_back();
    out.push_back("pid " + std::to_string(pid) + " (" + name + ")");
  }
  ::closedir(proc);
  return out;
}

}  // namespace

std::string LockOwner::describe() const {
  std::string s = "op-" + std::to_string(operation_id) + " (" + kind;
  if (!target.empty()) s += " " + target;
  s += ") by pid " + std::to_string(pid);
  if (!command_line.empty()) s += ": " + command_line;
  return s;
}

std::optional<LockOwner> WriterLock::read_owner(const std::string& dir) {
  auto text = read_file(lock_path(dir));
  if (!text) return std::nullopt;
  LockOwner o;
  std::istringstream in(*text);
  std::string line;
  int fields = 0;
  while (std::getline(in, line)) {
    auto sp = line.find(' ');
    std::string key = line.substr(0, sp);
    std::string val = sp == std::string::npos ? "" : line.substr(sp + 1);
    try {
      if (key == "op") o.operation_id = std::stoull(val), ++fields;
      else if (key == "pid") o.pid = std::stoi(val), ++fields;
      else if (key == "kind") o.kind = val, ++fields;
      else if (key == "target") o.target = val;
      else if (key == "cmd") {
        o.command_line = val;
        break;  // the last field; what follows is the tail of a longer, older record
      }
    } catch (const std::exception&) {
      return std::nullopt;  // a half-written record: the holder is mid-update
    }
  }
  if (fields != 3) return std::nullopt;
  return o;
}

Result<WriterLock> WriterLock::acquire(const std::string& dir, const LockOwner& owner, Wait wait) {
  const std::string path = lock_path(dir);
  WriterLock lock;
  lock.fd_ = CELLS_SYSCALL_FD(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600),
                              "open " + path);
  int op = LOCK_EX | (wait == Wait::kNo ? LOCK_NB : 0);
  if (detail::retry_eintr([&] { return ::flock(lock.fd_.get(), op); }) != 0) {
    if (errno != EWOULDBLOCK) return Error::sys(errno, "flock " + path);
    // The holder writes its record just after it got the lock, so for a moment the file is
    // empty or still names the previous holder (found by the 50-way parallel start test,
    // tests/load). A record is believed once it is complete and its pid is alive.
    auto holder = read_owner(dir);
    for (int i = 0; i < 1000 && (!holder || !alive(holder->pid)); ++i) {
      ::usleep(2000);  // up to 2 s: on a loaded host the holder may wait that long for a CPU
      holder = read_owner(dir);
    }
    std::string who = holder ? holder->describe() : std::string("holder unknown");
    if (holder && !alive(holder->pid)) {
      std::string others;
      for (const auto& p : processes_holding(path)) others += (others.empty() ? "" : ", ") + p;
      who += " (which has exited; the lock is still held by " +
             (others.empty() ? std::string("a process this one cannot see") : others) + ")";
    }
    return Error(ErrorKind::kBusy, "another operation is running: " + who +
                                       "; retry when it finishes, or wait for it");
  }
  // The record is advisory (it only names the holder in errors), so it is not fsynced: after a
  // crash the flock is gone anyway and the next holder overwrites it.
  std::string rec = encode_owner(owner);
  // Written over the old record, then cut to length: the file never reads as empty.
  CELLS_SYSCALL(::pwrite(lock.fd_.get(), rec.data(), rec.size(), 0), "write " + path);
  CELLS_SYSCALL(::ftruncate(lock.fd_.get(), static_cast<off_t>(rec.size())), "truncate " + path);
  return lock;
}

}  // namespace cells::store
