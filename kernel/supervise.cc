#include "kernel/supervise.h"

#include <algorithm>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <thread>

#include "base/files.h"
#include "base/signals.h"
#include "base/syscall.h"
#include "kernel/linesplit.h"
#include "kernel/telemetry.h"

namespace cells::kernel {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

int pidfd_open(pid_t pid) { return int(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfd_send_signal(int pidfd, int sig) {
  return int(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

int poll_timeout(Clock::time_point deadline) {
  auto left = duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : int(std::min<long long>(left + 1, 60'000));
}

// The whitespace-separated unsigned numbers at the start of TEXT, up to MAX of them. Parsed
// with from_chars, not a stringstream: iostreams would pull the C++ locale machinery into
// cells-supervise, most of its memory (docs/PERFORMANCE.md).
std::vector<uint64_t> leading_numbers(std::string_view text, size_t max) {
  std::vector<uint64_t> out;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n'; };
  const char* p = text.data();
  const char* end = p + text.size();
  while (out.size() < max) {
    while (p < end && space(*p)) ++p;
    uint64_t v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc() || (next < end && !space(*next))) break;
    out.push_back(v);
    p = next;
  }
  return out;
}

Result<std::vector<pid_t>> read_procs(const std::string& cgroup_dir) {
  std::string text = CELLS_TRY(read_file(cgroup_dir + "/cgroup.procs"));
  std::vector<pid_t> pids;
  for (uint64_t p : leading_numbers(text, SIZE_MAX)) pids.push_back(pid_t(p));
  return pids;
}

Status write_knob(const std::string& path, const char* value) {
  Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_WRONLY | O_CLOEXEC), "open " + path);
  CELLS_SYSCALL(::write(fd.get(), value, std::strlen(value)), "write " + path);
  return ok_status();
}

// The write end of the signal self-pipe; one supervisor per process. Each byte is the number
// of the signal that arrived: SIGUSR1 asks for a reload, every other one for a stop.
int g_stop_pipe_write = -1;

void on_request_signal(int sig) {
  int saved = errno;
  char b = char(sig);
  (void)!::write(g_stop_pipe_write, &b, 1);
  errno = saved;
}
void on_hangup(int) {}

// One output stream of the running service: its pipe, its line splitter, its syslog level.
struct Stream {
  Fd fd;
  LineSplitter split;
  int level = LOG_NOTICE;
  const char* label = "stdout";
};

}  // namespace

// Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): with the pid it names a
// process uniquely, so a stale pid file can never make us signal an unrelated process.
uint64_t process_start_time(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  size_t p = stat->rfind(')');
  if (p == std::string::npos) return 0;
  // Fields 3..21 are skipped as words (field 3, the state, is a letter).
  std::string_view rest = std::string_view(*stat).substr(p + 2);
  for (int i = 3; i < 22; ++i) {
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) return 0;
    rest.remove_prefix(sp + 1);
  }
  auto start = leading_numbers(rest, 1);
  return start.empty() ? 0 : start[0];
}

Status validate(const SuperviseSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error::invalid("supervise: no command given (nothing to run)");
  }
  if (spec.cid == 0 || spec.name.empty()) {
    return Error::invalid("supervise: the cell has no cid or name");
  }
  if (spec.cgroup_dir.empty()) return Error::invalid("supervise: the cell has no cgroup");
  if (spec.grace.count() < 0) return Error::invalid("supervise: negative grace period");
  if (spec.reload_signal < 0 || spec.reload_signal > 64) {
    return Error::invalid("supervise: reload signal " + std::to_string(spec.reload_signal) +
                          " is not a signal number");
  }
  if (spec.health) CELLS_TRY_CTX(validate(*spec.health), "supervise");
  return ok_status();
}

std::string supervisor_pid_path(const Paths& paths, std::string_view cell_name) {
  return paths.run_dir() + "/supervise/" + std::string(cell_name) + ".pid";
}

std::string supervisor_lock_path(const Paths& paths, std::string_view cell_name) {
  return paths.run_dir() + "/supervise/" + std::string(cell_name) + ".lock";
}

Result<Fd> lock_supervision(const Paths& paths, std::string_view cell_name) {
  CELLS_TRY(make_dirs(paths.run_dir() + "/supervise", 0755));
  const std::string path = supervisor_lock_path(paths, cell_name);
  Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600), "open " + path);
  if (detail::retry_eintr([&] { return ::flock(fd.get(), LOCK_EX | LOCK_NB); }) != 0) {
    if (errno == EWOULDBLOCK) {
      return Error(ErrorKind::kBusy, "a supervisor of cell " + std::string(cell_name) +
                                         " runs or is starting (" + path + " is locked)");
    }
    return Error::sys(errno, "lock " + path);
  }
  return fd;
}

bool supervisor_running(const Paths& paths, std::string_view cell_name) {
  auto lock = lock_supervision(paths, cell_name);
  return !lock && lock.error().kind() == ErrorKind::kBusy;
}

struct Supervisor::Impl {
  Paths paths;
  SuperviseSpec spec;
  Launcher launch;
  Fd sigfd;
  SyslogWriter log;
  std::optional<SnapshotFile> slot;
  std::string prefix_out, prefix_err;
  SuperviseState state = SuperviseState::kNone;
  Health health = Health::kUnknown;
  uint32_t check_failures = 0;  // consecutive, in the current run
  bool unhealthy = false;       // the current run is being stopped for failing its checks
  uint64_t restarts = 0;
  bool stop_requested = false;
  bool reload_requested = false;  // SIGUSR1 arrived; relayed by run_once while the service runs
  bool wrote_pid = false;

  void publish(SuperviseState s) {
    state = s;
    // Telemetry is an observation: failing to publish never stops supervision.
    if (slot) {
      (void)slot->write_supervision(spec.cid, s, restarts, ::getpid(), health);
    }
  }
  void event(int level, const std::string& msg) {
    (void)log.log(level, "cell=" + spec.name + " cid=" + std::to_string(spec.cid) + " " + msg);
  }
  bool check_stop_signal();
  // A finished (or failed to start) healthcheck; true when the service must be restarted.
  bool on_check_result(const Result<HealthResult>& r);
  void forward(Stream& s, bool at_eof);
  Result<int> run_once(Clock::duration* ran);
  bool wait_or_stop(Clock::time_point until);
};

Supervisor::Supervisor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Supervisor::~Supervisor() {
  if (impl_ && impl_->wrote_pid) ::unlink(supervisor_pid_path(impl_->paths, impl_->spec.name).c_str());
}

Result<Supervisor> Supervisor::create(const Paths& paths, SuperviseSpec spec, Launcher launch) {
  CELLS_TRY(validate(spec));
  // Step 1: stop signals become readable events (a self-pipe), so a stop is handled between
  // two steps of the loop and never inside one. Handlers rather than a blocked mask plus
  // signalfd: a blocked mask and ignored signals would be inherited by the service across
  // execve, while handlers reset to the default there. SIGHUP gets a handler that does
  // nothing, so job control cannot stop the cell, yet the service still sees SIGHUP normally.
  int pipe_fds[2];
  CELLS_SYSCALL(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK), "stop signal pipe");
  Fd sigfd(pipe_fds[0]);
  if (g_stop_pipe_write >= 0) ::close(g_stop_pipe_write);
  g_stop_pipe_write = pipe_fds[1];
  struct sigaction sa {};
  sa.sa_handler = on_request_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1}) {
    CELLS_SYSCALL(::sigaction(sig, &sa, nullptr), "install signal handler");
  }
  sa.sa_handler = on_hangup;
  CELLS_SYSCALL(::sigaction(SIGHUP, &sa, nullptr), "install SIGHUP handler");

  auto impl = std::make_unique<Impl>(Impl{paths, std::move(spec), std::move(launch),
                                          std::move(sigfd), SyslogWriter::open("", 0)});
  Impl& s = *impl;
  // Step 2: the log sink, with the operator's tag and facility.
  s.log = SyslogWriter::open(s.spec.log.tag, s.spec.log.facility);
  std::string who = "cell=" + s.spec.name + " cid=" + std::to_string(s.spec.cid) + " ";
  s.prefix_out = who + "stdout: ";
  s.prefix_err = who + "stderr: ";
  // Step 3: the telemetry slot; a missing run dir is created, an unusable one is an error
  // because list/stats would then silently show a supervised cell as unsupervised.
  s.slot = CELLS_TRY_CTX(SnapshotFile::open_rw(paths), "supervise " + s.spec.name);
  if (s.spec.health) s.health = Health::kDown;
  // Step 4: the pid file last, so a stopper that finds it finds a supervisor ready for SIGTERM.
  std::string pid_path = supervisor_pid_path(paths, s.spec.name);
  CELLS_TRY(make_dirs(paths.run_dir() + "/supervise", 0755));
  CELLS_TRY(write_file_atomic(pid_path, std::to_string(::getpid()) + " " +
                                           std::to_string(process_start_time(::getpid())) + "\n"));
  s.wrote_pid = true;
  return Supervisor(std::move(impl));
}

bool Supervisor::Impl::check_stop_signal() {
  char buf[16];
  for (ssize_t n; (n = ::read(sigfd.get(), buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == char(SIGUSR1)) {
        reload_requested = true;
      } else {
        stop_requested = true;
      }
    }
  }
  return stop_requested;
}

void Supervisor::Impl::forward(Stream& s, bool at_eof) {
  const std::string& prefix = (s.label[3] == 'o') ? prefix_out : prefix_err;
  auto emit = [&](std::string_view line) {
    std::string msg = prefix;
    msg.append(line);
    (void)log.log(s.level, msg);
  };
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
    if (n > 0) {
      s.split.feed(std::string_view(buf, size_t(n)), emit);
      continue;
    }
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      s.split.flush(emit);
      s.fd.reset();
    } else if (at_eof) {
      // The service has exited but something it started still holds the pipe: flush what it
      // wrote so far and stop reading (the next run gets fresh pipes).
      s.split.flush(emit);
      s.fd.reset();
    }
    return;
  }
}

// Starts the service once and waits for it to exit or for a stop request. Returns the wait
// status; RAN is how long it ran.
Result<int> Supervisor::Impl::run_once(Clock::duration* ran) {
  int out_pipe[2], err_pipe[2];
  CELLS_SYSCALL(::pipe2(out_pipe, O_CLOEXEC), "pipe");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  CELLS_SYSCALL(::pipe2(err_pipe, O_CLOEXEC), "pipe");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_r.get(), F_SETFL, O_NONBLOCK);

  SpawnOptions opts;
  opts.argv = spec.argv;
  opts.run_as = spec.run_as;
  opts.rlimits = spec.rlimits;
  opts.stdout_fd = out_w.get();
  opts.stderr_fd = err_w.get();
  opts.new_session = true;
  // One Landlock domain with exec shells and healthchecks: operators can signal the service.
  opts.shared_domain = true;
  std::string as;
  if (spec.run_as) {
    as = " as uid=" + std::to_string(spec.run_as->uid) + " gid=" + std::to_string(spec.run_as->gid);
  }
  event(LOG_INFO, "starting supervised command" + as);
  // A reload asked for before this start is answered by it: the new run reads the files.
  reload_requested = false;
  auto started = Clock::now();
  Child child = CELLS_TRY(launch(opts));
  // Our copies of the write ends must go, or the pipes never reach EOF.
  out_w.reset();
  err_w.reset();
  // A new run is not healthy until a check says so (unknown is kept for "no check at all").
  if (spec.health) health = Health::kDown;
  publish(SuperviseState::kRunning);

  Stream streams[2] = {{std::move(out_r), LineSplitter(), spec.log.stdout_level, "stdout"},
                       {std::move(err_r), LineSplitter(), spec.log.stderr_level, "stderr"}};
  std::optional<Clock::time_point> kill_deadline;
  // Healthchecks, one at a time. The first comes soon after the start (at most 2 s), so a
  // healthy service is reported up within seconds instead of a whole interval (30 s by
  // default) of "down"; a service still starting then only spends one of its retries.
  check_failures = 0;
  unhealthy = false;
  std::optional<RunningCheck> check;
  Clock::time_point next_check =
      spec.health ? started + std::min<Clock::duration>(spec.health->interval,
                                                        std::chrono::seconds(2))
                  : Clock::time_point::max();
  auto stop_service = [&] {
    // The service runs in its own session: signal the whole process group it leads.
    ::kill(-child.pid, SIGTERM);
    pidfd_send_signal(child.pidfd.get(), SIGTERM);
    kill_deadline = Clock::now() + spec.grace;
  };
  int status = 0;
  for (;;) {
    Clock::time_point wake = Clock::time_point::max();
    if (kill_deadline) wake = *kill_deadline;
    if (check) wake = std::min(wake, check->deadline());
    if (!check && !kill_deadline) wake = std::min(wake, next_check);
    pollfd pfd[5] = {{sigfd.get(), POLLIN, 0}, {child.pidfd.get(), POLLIN, 0},
                     {streams[0].fd.get(), POLLIN, 0}, {streams[1].fd.get(), POLLIN, 0},
                     {check ? check->pidfd() : -1, POLLIN, 0}};
    int timeout = wake == Clock::time_point::max() ? -1 : poll_timeout(wake);
    int n = ::poll(pfd, 5, timeout);
    if (n < 0 && errno != EINTR) return Error::sys(errno, "poll");
    if (pfd[0].revents && check_stop_signal() && !kill_deadline) {
      event(LOG_NOTICE, "supervise shutdown requested");
      stop_service();
    }
    if (reload_requested) {
      reload_requested = false;
      if (kill_deadline) {
        event(LOG_NOTICE, "reload requested while the service is stopping; ignored");
      } else if (spec.reload_signal == 0) {
        event(LOG_WARNING, "reload requested but the cell has no reload signal; ignored");
      } else if (pidfd_send_signal(child.pidfd.get(), spec.reload_signal) == 0) {
        event(LOG_NOTICE, "reload: sent " + signal_name(spec.reload_signal) + " to the service");
      } else {
        event(LOG_WARNING, Error::sys(errno, "reload: cannot signal the service").message());
      }
    }
    for (int i = 0; i < 2; ++i) {
      if (pfd[2 + i].revents) forward(streams[i], false);
    }
    if (check && (pfd[4].revents || Clock::now() >= check->deadline())) {
      HealthResult r = check->finish();
      check.reset();
      next_check = Clock::now() + spec.health->interval;
      if (on_check_result(r) && !kill_deadline) stop_service();
    } else if (spec.health && !check && !kill_deadline && Clock::now() >= next_check) {
      auto started_check = RunningCheck::start(launch, spec.health->argv, spec.health->timeout);
      if (started_check.ok()) {
        check.emplace(std::move(started_check).value());
      } else {
        next_check = Clock::now() + spec.health->interval;
        if (on_check_result(std::move(started_check).error()) && !kill_deadline) stop_service();
      }
    }
    if (pfd[1].revents) {
      auto done = try_wait_spawned(child);
      if (!done.ok()) return std::move(done).error();
      if (*done) {
        status = **done;
        break;
      }
    }
    if (kill_deadline && Clock::now() >= *kill_deadline) {
      pidfd_send_signal(child.pidfd.get(), SIGKILL);
      kill_deadline = Clock::now() + std::chrono::hours(1);  // now just wait for the exit
    }
  }
  *ran = Clock::now() - started;
  for (auto& s : streams) {
    if (s.fd.valid()) forward(s, true);
  }
  if (WIFEXITED(status)) {
    event(LOG_WARNING, "exited status=" + std::to_string(WEXITSTATUS(status)));
  } else {
    event(LOG_WARNING, "killed by signal=" + std::to_string(status & 0x7f));
  }
  return status;
}

bool Supervisor::Impl::on_check_result(const Result<HealthResult>& r) {
  if (r.ok() && r->passed) {
    check_failures = 0;
    if (health != Health::kUp) {
      health = Health::kUp;
      event(LOG_INFO, "healthcheck passed; healthy");
      publish(state);
    }
    return false;
  }
  ++check_failures;
  std::string why = !r.ok()               ? "cannot start: " + r.error().message()
                    : r->timed_out        ? "timed out after " +
                                         std::to_string(spec.health->timeout.count()) + " ms"
                    : WIFEXITED(r->wait_status) ? "exit status " +
                                                  std::to_string(WEXITSTATUS(r->wait_status))
                                            : "killed by signal " +
                                                  std::to_string(r->wait_status & 0x7f);
  event(LOG_WARNING, "healthcheck failed (" + why + "), " + std::to_string(check_failures) +
                         " of " + std::to_string(spec.health->retries));
  if (check_failures < spec.health->retries || unhealthy) return false;
  unhealthy = true;
  health = Health::kDown;
  publish(state);
  event(LOG_ERR, "unhealthy after " + std::to_string(check_failures) +
                     " failed healthchecks; restarting the service");
  return true;
}

// Sleeps until UNTIL unless a stop is requested first; returns true on a stop request.
bool Supervisor::Impl::wait_or_stop(Clock::time_point until) {
  for (;;) {
    if (check_stop_signal()) return true;
    if (reload_requested) {
      // No service runs now; the next start reads the configuration the reload was for.
      reload_requested = false;
      event(LOG_NOTICE, "reload requested between runs; the next start reads the new configuration");
    }
    int timeout = until == Clock::time_point::max() ? -1 : poll_timeout(until);
    if (until != Clock::time_point::max() && Clock::now() >= until) return false;
    pollfd pfd{sigfd.get(), POLLIN, 0};
    ::poll(&pfd, 1, timeout);
  }
}

Status Supervisor::run() {
  Impl& s = *impl_;
  Backoff backoff;
  CrashBudget budget(s.spec.budget);
  Status result;
  while (!s.check_stop_signal()) {
    Clock::duration ran{};
    auto st = s.run_once(&ran);
    if (st.ok() && s.unhealthy) {
      s.event(LOG_NOTICE, "stopped for failing its healthchecks; restarting like a crash");
    }
    if (!st.ok()) {
      // A spawn that fails (cell gone, binary missing) counts as a crash: it is retried with
      // backoff and ends in `failed` like any other crash loop.
      s.event(LOG_ERR, "cannot start supervised command: " + st.error().message());
    }
    if (s.stop_requested) break;
    if (!budget.try_restart(Clock::now())) {
      s.event(LOG_ERR, "failed: more than " + to_string(s.spec.budget) +
                           " restarts; not restarting until stopped");
      s.publish(SuperviseState::kFailed);
      s.wait_or_stop(Clock::time_point::max());
      break;
    }
    auto delay = backoff.next(ran);
    ++s.restarts;
    s.publish(SuperviseState::kBackoff);
    s.event(LOG_NOTICE, "restarting supervised command in " + std::to_string(delay.count()) +
                            " seconds");
    if (s.wait_or_stop(Clock::now() + delay)) break;
  }
  // Whatever the service left behind (children in new sessions, daemons) goes too, so that
  // the caller waiting for our exit finds the cell holding only its init.
  result = kill_cell_except(s.spec.cgroup_dir, s.spec.init_pid, std::chrono::seconds(10));
  s.publish(SuperviseState::kStopped);
  s.event(LOG_INFO, "stopped");
  ::unlink(supervisor_pid_path(s.paths, s.spec.name).c_str());
  s.wrote_pid = false;
  return result;
}

Status kill_cell_except(const std::string& cgroup_dir, pid_t keep, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (keep == 0) CELLS_TRY(write_knob(cgroup_dir + "/cgroup.kill", "1"));
  for (;;) {
    auto pids = CELLS_TRY(read_procs(cgroup_dir));
    bool others = false;
    for (pid_t p : pids) others |= (p != keep);
    if (!others) return ok_status();
    if (Clock::now() >= deadline) {
      return Error(ErrorKind::kBusy, "processes left in " + cgroup_dir + " after " +
                                         std::to_string(timeout.count()) + " ms");
    }
    if (keep != 0) {
      // Frozen, nothing in the cell can fork between the listing and the kill; SIGKILL still
      // reaches frozen tasks. Init is thawed right after.
      CELLS_TRY(write_knob(cgroup_dir + "/cgroup.freeze", "1"));
      auto frozen = read_procs(cgroup_dir);
      if (frozen.ok()) {
        for (pid_t p : *frozen) {
          if (p != keep) ::kill(p, SIGKILL);
        }
      }
      CELLS_TRY(write_knob(cgroup_dir + "/cgroup.freeze", "0"));
      if (!frozen.ok()) return std::move(frozen).error();
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

namespace {

// The supervisor of CELL_NAME, as a pidfd, with the pid file's text (for a later check that
// the file still names it). One still starting (the lock is held, the pid file comes last) is
// waited for until DEADLINE, so a request sent to it is not missed.
struct FoundSupervisor {
  Fd pidfd;
  std::string pid_file_text;
};
Result<FoundSupervisor> find_supervisor(const Paths& paths, std::string_view cell_name,
                                        std::chrono::steady_clock::time_point deadline,
                                        milliseconds timeout) {
  std::string pid_path = supervisor_pid_path(paths, cell_name);
  auto text = read_file(pid_path);
  while (!text.ok()) {
    auto free = lock_supervision(paths, cell_name);
    if (free.ok() || free.error().kind() != ErrorKind::kBusy) {
      return Error::not_found("no supervisor runs for cell " + std::string(cell_name) + " (" +
                              pid_path + " is missing)");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error(ErrorKind::kBusy, "supervisor of cell " + std::string(cell_name) +
                                         " is starting and wrote no pid file within " +
                                         std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(milliseconds(10));
    text = read_file(pid_path);
  }
  auto numbers = leading_numbers(*text, 2);
  if (numbers.size() != 2 || numbers[0] == 0 || numbers[0] > INT32_MAX) {
    return Error(ErrorKind::kCorrupt, pid_path + ": not a pid and start time");
  }
  pid_t pid = pid_t(numbers[0]);
  uint64_t started = numbers[1];
  int raw = pidfd_open(pid);
  if (raw < 0 && errno == ESRCH) {
    ::unlink(pid_path.c_str());  // a supervisor that was killed hard left its pid file
    return Error::not_found("no supervisor runs for cell " + std::string(cell_name));
  }
  if (raw < 0) return Error::sys(errno, "pidfd_open supervisor " + std::to_string(pid));
  Fd pidfd(raw);
  // The pid could have been reused since the file was written; the pidfd is taken first, so
  // the start time checked here is that of the process we will signal.
  if (process_start_time(pid) != started) {
    ::unlink(pid_path.c_str());
    return Error::not_found("pid " + std::to_string(pid) + " from " + pid_path +
                            " is not the supervisor of cell " + std::string(cell_name));
  }
  return FoundSupervisor{std::move(pidfd), std::move(*text)};
}

}  // namespace

Status stop_supervisor(const Paths& paths, std::string_view cell_name, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto found = CELLS_TRY(find_supervisor(paths, cell_name, deadline, timeout));
  CELLS_SYSCALL(pidfd_send_signal(found.pidfd.get(), SIGTERM), "signal supervisor");
  pollfd pfd{found.pidfd.get(), POLLIN, 0};
  int n = CELLS_SYSCALL(::poll(&pfd, 1, int(timeout.count())), "wait for supervisor");
  if (n == 0) {
    return Error(ErrorKind::kBusy, "supervisor of cell " + std::string(cell_name) +
                                       " did not exit within " +
                                       std::to_string(timeout.count()) + " ms");
  }
  // A supervisor that died without its cleanup left the file; it names a dead process now.
  std::string pid_path = supervisor_pid_path(paths, cell_name);
  if (auto now = read_file(pid_path); now && *now == found.pid_file_text) ::unlink(pid_path.c_str());
  return ok_status();
}

Status reload_supervisor(const Paths& paths, std::string_view cell_name, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto found = CELLS_TRY(find_supervisor(paths, cell_name, deadline, timeout));
  CELLS_SYSCALL(pidfd_send_signal(found.pidfd.get(), SIGUSR1), "signal supervisor");
  return ok_status();
}

}  // namespace cells::kernel
