#include "kernel/cell_spawner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "base/files.h"
#include "base/syscall.h"
#include "kernel/caps.h"
#include "kernel/init_setup.h"
#include "kernel/landlock.h"
#include "kernel/namespaces.h"
#include "kernel/seccomp.h"
#include "kernel/wire.h"

namespace cells::kernel {
namespace {

constexpr uint32_t kMagic = 0x43535031;  // "CSP1": one encoding version
constexpr size_t kMaxRequest = 4 << 20;
constexpr int kRequestFds = 5;           // reply, request memfd, stdin, stdout, stderr
constexpr int kHighFd = 10;

// Steps of a process forked by init, reported as StatusRecord.step (init's own failures
// before the fork use the first two).
enum class Step : int32_t {
  kBadRequest = 2000,
  kFork,
  kSetsid,
  kStdio,
  kRlimit,
  kChdir,
  kPolicy,
  kGroups,
  kSetgid,
  kSetuid,
  kExec,
};

const char* to_string(Step s) {
  switch (s) {
    case Step::kBadRequest: return "read the spawn request";
    case Step::kFork: return "fork in the cell's init";
    case Step::kSetsid: return "setsid";
    case Step::kStdio: return "set up stdio";
    case Step::kRlimit: return "set rlimits";
    case Step::kChdir: return "chdir";
    case Step::kPolicy: return "enter the cell policy";
    case Step::kGroups: return "setgroups";
    case Step::kSetgid: return "setgid";
    case Step::kSetuid: return "setuid";
    case Step::kExec: return "exec";
  }
  return "unknown step";
}

// ---- descriptor passing

ssize_t send_with_fds(int sock, const void* data, size_t len, const int* fds, int nfds) {
  iovec iov{const_cast<void*>(data), len};
  char control[CMSG_SPACE(sizeof(int) * kRequestFds)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (nfds > 0) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * size_t(nfds));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * size_t(nfds));
    std::memcpy(CMSG_DATA(c), fds, sizeof(int) * size_t(nfds));
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

// Receives one message; every descriptor it carried is owned by FDS (close-on-exec).
ssize_t recv_with_fds(int sock, void* data, size_t len, std::vector<Fd>* fds, int flags) {
  iovec iov{data, len};
  char control[CMSG_SPACE(sizeof(int) * (kRequestFds + 3))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds->emplace_back(fd);
    }
  }
  return n;
}

// ---- init side

// The request with everything the forked child needs laid out, so it allocates nothing.
struct Prepared {
  SpawnRequest req;
  std::vector<char*> argv, envp;
  std::vector<const char*> candidates;
  CapsPlan caps;
  int reply = -1;
  int stdio[3] = {-1, -1, -1};
};

void report(int fd, Step step, int err) {
  StatusRecord r{static_cast<int32_t>(step), err};
  (void)!write(fd, &r, sizeof r);
}

[[noreturn]] void fail(const Prepared& p, Step step) {
  report(p.reply, step, errno);
  _exit(127);
}

[[noreturn]] void child_main(const Prepared& p) {
  // Held until the host has read our pid: a command that exits at once would otherwise be
  // reaped by init before the host could name it.
  char go = 0;
  ssize_t got;
  do {
    got = read(p.reply, &go, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) _exit(127);
  // Init blocks SIGTERM and SIGCHLD for its signalfd; a blocked mask survives execve.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Always a session of its own: init's session and process group are init's, and a caller
  // must be able to signal the whole group it started (kill(-pid)).
  if (setsid() < 0) fail(p, Step::kSetsid);
  int high[3];
  for (int i = 0; i < 3; ++i) {
    high[i] = fcntl(p.stdio[i], F_DUPFD_CLOEXEC, kHighFd);
    if (high[i] < 0) fail(p, Step::kStdio);
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(high[i], i) < 0) fail(p, Step::kStdio);
  }
  // Init's own descriptors (spawn channel, snapshot, cgroup) must not reach the payload.
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(p, Step::kStdio);
  for (const auto& l : p.req.limits) {
    struct rlimit rl {l.value, l.value};
    if (setrlimit(static_cast<__rlimit_resource>(l.resource), &rl) != 0) fail(p, Step::kRlimit);
  }
  if (chdir(p.req.cwd.c_str()) != 0) fail(p, Step::kChdir);
  // The policy as enter_policy() orders it, minus Landlock: init's domain is inherited.
  if (int err = caps_enter(p.caps); err != 0) {
    errno = err;
    fail(p, Step::kPolicy);
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(p, Step::kPolicy);
  if (int err = seccomp_enter(p.req.seccomp); err != 0) {
    errno = err;
    fail(p, Step::kPolicy);
  }
  if (syscall(SYS_setgroups, p.req.groups.size(), p.req.groups.data()) != 0) {
    fail(p, Step::kGroups);
  }
  if (syscall(SYS_setresgid, p.req.gid, p.req.gid, p.req.gid) != 0) fail(p, Step::kSetgid);
  if (syscall(SYS_setresuid, p.req.uid, p.req.uid, p.req.uid) != 0) fail(p, Step::kSetuid);
  int err = ENOENT;
  for (const char* path : p.candidates) {
    execve(path, p.argv.data(), p.envp.data());
    if (errno != ENOENT || err == ENOENT) err = errno;
  }
  errno = err;
  fail(p, Step::kExec);
}

void serve_one(std::vector<Fd>& fds) {
  int reply = fds[0].get();
  std::string bytes;
  char buf[16384];
  for (ssize_t n; (n = pread(fds[1].get(), buf, sizeof buf, off_t(bytes.size()))) > 0;) {
    bytes.append(buf, size_t(n));
    if (bytes.size() > kMaxRequest) break;
  }
  auto req = decode_spawn_request(bytes);
  if (!req.ok()) {
    report(reply, Step::kBadRequest, EINVAL);
    return;
  }
  Prepared p;
  p.req = std::move(req).value();
  for (auto& a : p.req.argv) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.req.env) p.envp.push_back(e.data());
  p.envp.push_back(nullptr);
  for (auto& c : p.req.candidates) p.candidates.push_back(c.c_str());
  p.caps.keep = p.req.caps_keep;
  p.caps.last_cap = p.req.caps_last_cap;
  p.reply = reply;
  for (int i = 0; i < 3; ++i) p.stdio[i] = fds[2 + i].get();

  int pidfd = -1;
  struct clone_args args {};
  args.flags = CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;  // init reaps it like any other process of the cell
  pid_t pid = clone3_fork(&args);
  if (pid < 0) {
    report(reply, Step::kFork, errno);
    return;
  }
  if (pid == 0) child_main(p);
  Fd owned(pidfd);
  StatusRecord ok{0, 0};
  (void)send_with_fds(reply, &ok, sizeof ok, &pidfd, 1);
}

// The pid in the caller's namespace; -1 once the process has been reaped.
pid_t pid_of_pidfd(int pidfd) {
  auto text = read_file("/proc/self/fdinfo/" + std::to_string(pidfd));
  if (!text.ok()) return -1;
  size_t at = text->find("\nPid:");
  if (at == std::string::npos) return -1;
  return pid_t(std::atoi(text->c_str() + at + 5));
}

}  // namespace

std::string encode_spawn_request(const SpawnRequest& r) {
  WireWriter w;
  w.u32(kMagic);
  w.strs(r.argv);
  w.strs(r.env);
  w.strs(r.candidates);
  w.str(r.cwd);
  w.u32(r.uid);
  w.u32(r.gid);
  w.u32(uint32_t(r.groups.size()));
  for (gid_t g : r.groups) w.u32(g);
  w.u32(uint32_t(r.limits.size()));
  for (const auto& l : r.limits) {
    w.u32(uint32_t(l.resource));
    w.u64(l.value);
  }
  w.u64(r.caps_keep);
  w.u32(uint32_t(r.caps_last_cap));
  w.str(std::string_view(reinterpret_cast<const char*>(r.seccomp.data()),
                         r.seccomp.size() * sizeof(sock_filter)));
  return w.take();
}

Result<SpawnRequest> decode_spawn_request(std::string_view bytes) {
  auto bad = [](const char* what) {
    return Error(ErrorKind::kCorrupt, std::string("spawn request: bad ") + what);
  };
  WireReader in(bytes);
  SpawnRequest r;
  uint32_t magic = 0, n = 0, v = 0;
  if (!in.u32(&magic) || magic != kMagic) return bad("magic");
  if (!in.strs(&r.argv) || r.argv.empty()) return bad("argv");
  if (!in.strs(&r.env)) return bad("env");
  if (!in.strs(&r.candidates) || r.candidates.empty()) return bad("program");
  if (!in.str(&r.cwd)) return bad("cwd");
  if (!in.u32(&r.uid) || !in.u32(&r.gid)) return bad("credentials");
  if (!in.u32(&n) || n > 65536) return bad("groups");
  for (uint32_t i = 0; i < n; ++i) {
    if (!in.u32(&v)) return bad("groups");
    r.groups.push_back(v);
  }
  if (!in.u32(&n) || n > 64) return bad("rlimits");
  for (uint32_t i = 0; i < n; ++i) {
    SpawnLimit l;
    if (!in.u32(&v) || !in.u64(&l.value)) return bad("rlimits");
    l.resource = int32_t(v);
    r.limits.push_back(l);
  }
  if (!in.u64(&r.caps_keep) || !in.u32(&v)) return bad("capabilities");
  r.caps_last_cap = int32_t(v);
  std::string filter;
  if (!in.str(&filter) || filter.size() % sizeof(sock_filter) != 0) return bad("seccomp filter");
  r.seccomp.resize(filter.size() / sizeof(sock_filter));
  std::memcpy(r.seccomp.data(), filter.data(), filter.size());
  if (!in.done()) return bad("length");
  for (const auto* list : {&r.argv, &r.env, &r.candidates}) {
    for (const auto& s : *list) {
      if (s.find('\0') != std::string::npos) return bad("string (contains NUL)");
    }
  }
  return r;
}

Result<Child> spawn_through_init(int init_pidfd, const SpawnRequest& request,
                                 const int (&stdio)[3], std::string_view what) {
  const std::string ctx(what);
  int raw = int(syscall(SYS_pidfd_getfd, init_pidfd, kInitSpawnHostFd, 0));
  if (raw < 0 && errno == EBADF) {
    return Error(ErrorKind::kUnsupported, ctx + ": the cell's init has no spawn channel");
  }
  if (raw < 0) return Error::sys(errno, ctx + ": pidfd_getfd of init's spawn channel");
  Fd channel(raw);
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(channel.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) {
    return Error(ErrorKind::kUnsupported, ctx + ": the cell's init has no spawn channel");
  }

  std::string bytes = encode_spawn_request(request);
  Fd memfd = CELLS_SYSCALL_FD(memfd_create("cells-spawn", MFD_CLOEXEC | MFD_ALLOW_SEALING),
                              ctx + ": memfd_create");
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = CELLS_SYSCALL(write(memfd.get(), bytes.data() + off, bytes.size() - off),
                              ctx + ": write spawn request");
    off += size_t(n);
  }
  // Sealed: init reads exactly what was checked here.
  CELLS_SYSCALL(fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK),
                ctx + ": seal spawn request");
  int sv[2];
  CELLS_SYSCALL(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), ctx + ": socketpair");
  Fd mine(sv[0]), theirs(sv[1]);
  // Bounded: an init that stopped serving must not hang the caller for ever.
  timeval tv{10, 0};
  setsockopt(mine.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int fds[kRequestFds] = {theirs.get(), memfd.get(), stdio[0], stdio[1], stdio[2]};
  char tag = 'S';
  if (send_with_fds(channel.get(), &tag, 1, fds, kRequestFds) != 1) {
    return Error::sys(errno, ctx + ": send the spawn request to the cell's init");
  }
  theirs.reset();

  StatusRecord rec;
  std::vector<Fd> got;
  ssize_t n = recv_with_fds(mine.get(), &rec, sizeof rec, &got, 0);
  if (n < 0) return Error::sys(errno, ctx + ": wait for the cell's init");
  if (n != ssize_t(sizeof rec)) {
    return Error(ErrorKind::kSystem, ctx + ": the cell's init answered nothing");
  }
  if (rec.step != 0 || got.size() != 1) {
    return Error::sys(rec.err, ctx + ": " + to_string(static_cast<Step>(rec.step)));
  }
  Child child;
  child.pidfd = std::move(got[0]);
  child.reaped_by_cell = true;
  child.pid = pid_of_pidfd(child.pidfd.get());
  char go = 'G';
  if (send(mine.get(), &go, 1, MSG_NOSIGNAL) != 1) {
    return Error::sys(errno, ctx + ": release the new process");
  }
  // Then the process's own report: a failure record, or EOF once its execve closed the socket.
  do {
    n = read(mine.get(), &rec, sizeof rec);
  } while (n < 0 && errno == EINTR);
  if (n == ssize_t(sizeof rec)) {
    std::string step = to_string(static_cast<Step>(rec.step));
    if (static_cast<Step>(rec.step) == Step::kExec) step += " " + request.argv[0];
    return Error::sys(rec.err, ctx + ": " + step);
  }
  if (n < 0) return Error::sys(errno, ctx + ": wait for the exec");
  if (child.pid <= 0) return Error(ErrorKind::kSystem, ctx + ": no pid for the new process");
  return child;
}

int init_enter_landlock() noexcept {
  if (fcntl(kInitLandlockFd, F_GETFD) < 0) return 0;
  LandlockPlan plan;
  plan.ruleset = Fd(kInitLandlockFd);
  const char* spec = getenv(kInitLandlockEnv);
  // "<restrict_fs>:<read_access>:<write_access>"; from_chars rather than sscanf, which would
  // bring scanf and the locale machinery into every static program that links this file.
  int restrict_fs = 0;
  uint64_t read_access = 0, write_access = 0;
  if (!spec) return EINVAL;
  const char* end = spec + std::strlen(spec);
  auto r = std::from_chars(spec, end, restrict_fs);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != ':') return EINVAL;
  r = std::from_chars(r.ptr + 1, end, read_access);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != ':') return EINVAL;
  r = std::from_chars(r.ptr + 1, end, write_access);
  if (r.ec != std::errc()) return EINVAL;
  plan.restrict_fs = restrict_fs != 0;
  plan.read_access = read_access;
  plan.write_access = write_access;
  if (const char* w = getenv(kInitWritableEnv)) {
    std::string all = w;
    for (size_t p = 0; p < all.size();) {
      size_t colon = all.find(':', p);
      if (colon == std::string::npos) colon = all.size();
      if (colon > p) plan.writable.push_back(all.substr(p, colon - p));
      p = colon + 1;
    }
  }
  // Landlock without CAP_SYS_ADMIN needs NO_NEW_PRIVS; init never execs, so it costs nothing.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  return landlock_enter(plan);
}

void init_serve_spawns() {
  for (;;) {
    char tag = 0;
    std::vector<Fd> fds;
    ssize_t n = recv_with_fds(kInitSpawnFd, &tag, 1, &fds, MSG_DONTWAIT);
    if (n <= 0) return;  // EAGAIN: all served
    if (tag != 'S' || fds.size() != size_t(kRequestFds)) continue;  // not ours: dropped
    serve_one(fds);
  }
}

}  // namespace cells::kernel
