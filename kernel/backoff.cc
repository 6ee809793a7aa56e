#include "kernel/backoff.h"

#include <charconv>

namespace cells::kernel {

namespace {
Result<uint64_t> parse_u64(std::string_view s, std::string_view what, std::string_view whole) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
    return Error::invalid("restart budget '" + std::string(whole) + "': " + std::string(what) +
                          " '" + std::string(s) + "' is not a number");
  }
  return v;
}
}  // namespace

Result<RestartBudget> parse_restart_budget(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Error::invalid("restart budget '" + std::string(text) +
                          "' must look like N/WINDOW, e.g. 5/60s");
  }
  uint64_t n = CELLS_TRY(parse_u64(text.substr(0, slash), "count", text));
  std::string_view w = text.substr(slash + 1);
  uint64_t unit = 1;
  if (!w.empty()) {
    switch (w.back()) {
      case 's': unit = 1; w.remove_suffix(1); break;
      case 'm': unit = 60; w.remove_suffix(1); break;
      case 'h': unit = 3600; w.remove_suffix(1); break;
      default: break;
    }
  }
  uint64_t secs = CELLS_TRY(parse_u64(w, "window", text));
  if (n < 1 || n > 1000000) {
    return Error::invalid("restart budget '" + std::string(text) + "': count must be 1..1000000");
  }
  if (secs < 1 || secs > 7 * 24 * 3600) {
    return Error::invalid("restart budget '" + std::string(text) + "': window must be 1s..7d");
  }
  return RestartBudget{static_cast<uint32_t>(n), std::chrono::seconds(secs * unit)};
}

std::string to_string(const RestartBudget& b) {
  return std::to_string(b.restarts) + "/" + std::to_string(b.window.count()) + "s";
}

std::chrono::seconds Backoff::next(Clock::duration run_time) {
  if (run_time >= kResetAfter) delay_ = kInitial;
  std::chrono::seconds d = delay_;
  delay_ = std::min(delay_ * 2, kMax);
  return d;
}

bool CrashBudget::try_restart(Clock::time_point now) {
  while (!recent_.empty() && now - recent_.front() >= budget_.window) recent_.pop_front();
  if (recent_.size() >= budget_.restarts) return false;
  recent_.push_back(now);
  return true;
}

}  // namespace cells::kernel
