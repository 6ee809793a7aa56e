// Restart policy of a supervised service: the backoff delay between runs and the crash-loop
// budget that gives up (DESIGN section 9).
//
// Backoff: 1, 2, 4, 8, then 10 s between restarts; a run of 30 s or more resets it to 1 s.
// Budget "N/WINDOW": at most N restarts within any WINDOW; the restart that would exceed it
// marks the service failed instead. The default, 5/60s, lets a service that crashes at start
// go through the whole 1-2-4-8-10 ladder once (restarts at about 1, 3, 7, 15 and 25 s) and
// declares it failed at the sixth crash, about half a minute after the first.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cells::kernel {

using Clock = std::chrono::steady_clock;

struct RestartBudget {
  uint32_t restarts = 5;
  std::chrono::seconds window{60};
};

// "5/60s", "5/60" (seconds), "3/2m", "10/1h". N >= 1, WINDOW >= 1 s.
Result<RestartBudget> parse_restart_budget(std::string_view text);
std::string to_string(const RestartBudget& b);

class Backoff {
 public:
  static constexpr std::chrono::seconds kInitial{1};
  static constexpr std::chrono::seconds kMax{10};
  static constexpr std::chrono::seconds kResetAfter{30};

  // The delay before the next start, given how long the run that just ended lasted.
  std::chrono::seconds next(Clock::duration run_time);

 private:
  std::chrono::seconds delay_ = kInitial;
};

class CrashBudget {
 public:
  explicit CrashBudget(RestartBudget b) : budget_(b) {}

  // Called when a restart is due at NOW: records it and returns true, or returns false when
  // it would be one restart too many within the window (the service is then failed).
  bool try_restart(Clock::time_point now);
  uint32_t restarts_in_window() const { return static_cast<uint32_t>(recent_.size()); }

 private:
  RestartBudget budget_;
  std::deque<Clock::time_point> recent_;
};

}  // namespace cells::kernel
