#include "engine/health.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "base/syscall.h"
#include "kernel/cell.h"

namespace cells::engine {
namespace {

constexpr size_t kMaxOutput = 64 * 1024;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<CommandResult> run_in_cell(const Paths& paths, const std::string& name,
                                  const std::string& command, std::chrono::milliseconds timeout) {
  auto runtime = CELLS_TRY(kernel::Runtime::open(paths));
  auto cell = CELLS_TRY_CTX(runtime.find(name), "run in cell " + name);
  int out[2];
  CELLS_SYSCALL(::pipe2(out, O_CLOEXEC), "pipe");
  Fd rd(out[0]), wr(out[1]);
  kernel::SpawnOptions opts;
  opts.argv = {"/bin/sh", "-c", command};
  opts.stdout_fd = wr.get();
  opts.stderr_fd = wr.get();
  auto child = runtime.spawn(cell, opts);
  wr = Fd();  // only the child writes now: EOF once it (and what it started) is done
  if (!child) return std::move(child).error().wrap("run in cell " + name);

  // Read until EOF or the deadline; then reap. A command that outlives its timeout is killed
  // through its pidfd (no pid-reuse race).
  CommandResult r;
  const int64_t deadline = now_ms() + timeout.count();
  bool eof = false;
  while (!eof) {
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    struct pollfd pfds[2] = {{rd.get(), POLLIN, 0}, {child->pidfd.get(), POLLIN, 0}};
    int n = ::poll(pfds, 2, int(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno != EINTR) return Error::sys(errno, "poll");
    if (pfds[0].revents & (POLLIN | POLLHUP)) {
      char buf[4096];
      ssize_t got = ::read(rd.get(), buf, sizeof buf);
      if (got <= 0) {
        eof = true;
      } else if (r.output.size() < kMaxOutput) {
        r.output.append(buf, size_t(got));
      }
    } else if (pfds[1].revents & POLLIN) {
      // The shell exited but a background child may hold the pipe: do not wait for it.
      break;
    }
  }
  if (r.timed_out) ::syscall(SYS_pidfd_send_signal, child->pidfd.get(), SIGKILL, nullptr, 0);
  siginfo_t info{};
  while (::waitid(P_PIDFD, id_t(child->pidfd.get()), &info, WEXITED) < 0 && errno == EINTR) {
  }
  r.exit_status = info.si_code == CLD_EXITED ? info.si_status : 128 + info.si_status;
  while (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
  return r;
}

Status run_healthcheck(const Paths& paths, const std::string& name, const Healthcheck& hc,
                       std::chrono::milliseconds pause) {
  const uint32_t attempts = std::max<uint32_t>(1, hc.retries);
  std::string last;
  for (uint32_t i = 0; i < attempts; ++i) {
    if (i > 0) std::this_thread::sleep_for(pause);
    auto r = CELLS_TRY(run_in_cell(paths, name, hc.command, hc.timeout));
    if (r.exit_status == 0 && !r.timed_out) return ok_status();
    last = r.timed_out ? "timed out after " + format_duration(hc.timeout)
                       : "exit " + std::to_string(r.exit_status);
    if (!r.output.empty()) last += ": " + r.output.substr(0, 200);
  }
  return Error(ErrorKind::kSystem, "healthcheck of " + name + " failed " +
                                       std::to_string(attempts) + " time(s), last: " + last);
}

Status CellPlanRunner::exec(const std::string& command) {
  auto r = CELLS_TRY(run_in_cell(paths_, cell_, command, timeout_));
  if (r.exit_status == 0 && !r.timed_out) return ok_status();
  return Error(ErrorKind::kSystem,
               "EXEC " + command + ": " +
                   (r.timed_out ? "timed out" : "exit " + std::to_string(r.exit_status)) +
                   (r.output.empty() ? "" : ": " + r.output.substr(0, 200)));
}

Status CellPlanRunner::pkg(const std::vector<std::string>& packages) {
  if (base_ != "debian") {
    return Error::invalid("PKG: base '" + base_ + "' has no package manager (use base = \"debian\")");
  }
  std::string cmd = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends";
  for (const auto& p : packages) cmd += " " + p;
  return exec(cmd);
}

}  // namespace cells::engine
