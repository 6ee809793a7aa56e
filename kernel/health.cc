#include "kernel/health.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace cells::kernel {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr milliseconds kMinPeriod{10};
constexpr milliseconds kMaxPeriod{3'600'000};
constexpr uint32_t kMaxRetries = 100;

}  // namespace

Status validate(const HealthcheckSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Error::invalid("healthcheck: no command given");
  }
  auto in_range = [](milliseconds d) { return d >= kMinPeriod && d <= kMaxPeriod; };
  if (!in_range(spec.timeout)) return Error::invalid("healthcheck timeout must be 10ms..1h");
  if (!in_range(spec.interval)) return Error::invalid("healthcheck interval must be 10ms..1h");
  if (spec.timeout > spec.interval) {
    return Error::invalid("healthcheck timeout (" + std::to_string(spec.timeout.count()) +
                          " ms) is longer than its interval (" +
                          std::to_string(spec.interval.count()) + " ms)");
  }
  if (spec.retries < 1 || spec.retries > kMaxRetries) {
    return Error::invalid("healthcheck retries must be 1..100");
  }
  return ok_status();
}

Result<milliseconds> parse_duration(std::string_view flag, std::string_view text) {
  auto bad = [&] {
    return Error::invalid(std::string(flag) + " '" + std::string(text) +
                          "' is not a duration (e.g. 500ms, 5s, 2m, 1h)");
  };
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc()) return bad();
  std::string_view unit(p, size_t(text.data() + text.size() - p));
  uint64_t scale = 0;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else {
    return bad();
  }
  if (n > uint64_t(kMaxPeriod.count()) * 24) return bad();  // no overflow below
  return milliseconds(int64_t(n * scale));
}

Result<RunningCheck> RunningCheck::start(
    const std::function<Result<Child>(const SpawnOptions&)>& spawn,
    const std::vector<std::string>& argv, milliseconds timeout) {
  SpawnOptions opts;
  opts.argv = argv;
  opts.new_session = true;  // so a timeout can kill everything the check started
  // In the cell's one Landlock domain, like the service it checks (it may signal it).
  opts.shared_domain = true;
  auto started = SteadyClock::now();
  Child child = CELLS_TRY_CTX(spawn(opts), "healthcheck");
  return RunningCheck(std::move(child), started + timeout);
}

HealthResult RunningCheck::finish() {
  HealthResult r;
  if (!child_.pidfd.valid()) return r;
  auto done = try_wait_spawned(child_);
  r.timed_out = done.ok() && !done->has_value();
  // The whole group goes, timed out or not, so checks never accumulate leftovers (a group id
  // stays reserved while any member lives, so this cannot hit a stranger's group).
  ::kill(-child_.pid, SIGKILL);
  if (r.timed_out) {
    ::syscall(SYS_pidfd_send_signal, child_.pidfd.get(), SIGKILL, nullptr, 0);
    (void)wait_spawned(child_);
    return r;
  }
  if (!done.ok()) return r;  // cannot tell: a failure
  int status = **done;
  r.wait_status = status;
  r.passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

RunningCheck::~RunningCheck() {
  if (child_.pidfd.valid()) (void)finish();
}

Result<HealthResult> run_healthcheck(Runtime& runtime, const CellInfo& cell,
                                     const std::vector<std::string>& cmd, milliseconds timeout) {
  RunningCheck check = CELLS_TRY(RunningCheck::start(
      [&](const SpawnOptions& o) { return runtime.spawn(cell, o); }, cmd, timeout));
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(check.deadline() - SteadyClock::now());
    if (left.count() <= 0) break;
    pollfd pfd{check.pidfd(), POLLIN, 0};
    int n = ::poll(&pfd, 1, int(left.count()) + 1);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) return Error::sys(errno, "healthcheck: poll");
  }
  return check.finish();
}

}  // namespace cells::kernel
