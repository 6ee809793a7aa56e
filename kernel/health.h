// Healthchecks: a command run inside the cell (Runtime::spawn, so it has the cell's namespaces,
// cgroup and policy) that passes when it exits 0 within its timeout.
//
// Two users: the supervisor runs one every `interval` while its service runs and restarts the
// service after `retries` consecutive failures (supervise.h); the apply engine runs one-shot
// checks with run_healthcheck(). A check that outlives its timeout is killed with its whole
// process group (it runs in a session of its own) and counts as a failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

struct HealthcheckSpec {
  std::vector<std::string> argv;  // run in the cell; exit 0 = healthy
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds interval{30000};
  uint32_t retries = 3;  // consecutive failures that make the service unhealthy
};

// A command; timeout and interval of 10 ms .. 1 h; timeout <= interval; retries 1..100.
Status validate(const HealthcheckSpec& spec);

// "500ms", "5s", "2m", "1h"; a bare number is seconds. FLAG names the option in errors.
Result<std::chrono::milliseconds> parse_duration(std::string_view flag, std::string_view text);

struct HealthResult {
  bool passed = false;
  bool timed_out = false;
  int wait_status = 0;  // as waitpid's, when the command ran to its end
};

// One check that is running: the command's process, owned until it has been reaped (the
// spawn made it the caller's child). Destroying a check that has not finished kills it.
class RunningCheck {
 public:
  // Starts ARGV through SPAWN (stdin, stdout and stderr on /dev/null, a new session).
  static Result<RunningCheck> start(const std::function<Result<Child>(const SpawnOptions&)>& spawn,
                                    const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout);
  RunningCheck(RunningCheck&&) = default;
  RunningCheck& operator=(RunningCheck&&) = default;
  ~RunningCheck();

  int pidfd() const { return child_.pidfd.get(); }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  // Call when pidfd() is readable or the deadline has passed: kills the check if it is still
  // running (timed out), reaps it and says how it went.
  HealthResult finish();

 private:
  RunningCheck(Child child, std::chrono::steady_clock::time_point deadline)
      : child_(std::move(child)), deadline_(deadline) {}
  Child child_;
  std::chrono::steady_clock::time_point deadline_;
};

// Runs CMD once in CELL and waits for it, at most TIMEOUT. An Error only when the command
// could not be started (the cell is gone, the program is missing); a command that fails or
// times out is a HealthResult with passed = false.
Result<HealthResult> run_healthcheck(Runtime& runtime, const CellInfo& cell,
                                     const std::vector<std::string>& cmd,
                                     std::chrono::milliseconds timeout);

}  // namespace cells::kernel
