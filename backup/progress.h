// Progress reports for long backups and restores: bytes done of a total, the rate so far and
// the time left at that rate. The CLI draws a bar from them on a tty.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace cells::backup {

struct Progress {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;  // 0 when unknown
  double rate_bytes_per_s = 0;
  double eta_s = 0;  // 0 when unknown or done
};
using ProgressFn = std::function<void(const Progress&)>;

// Turns byte counts into Progress and calls FN at most every kInterval (and once at finish),
// so a callback that draws on a terminal is not called per 10 KiB block.
class ProgressMeter {
 public:
  static constexpr std::chrono::milliseconds kInterval{100};
  ProgressMeter(ProgressFn fn, uint64_t total)
      : fn_(std::move(fn)), total_(total), start_(std::chrono::steady_clock::now()) {}

  void add(uint64_t bytes) {
    done_ += bytes;
    if (!fn_) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < kInterval) return;
    last_ = now;
    report(now);
  }
  // The last report says done == total: the total was an estimate taken before the work.
  void finish() {
    total_ = done_;
    if (fn_) report(std::chrono::steady_clock::now());
  }
  uint64_t done() const { return done_; }

 private:
  void report(std::chrono::steady_clock::time_point now) {
    double secs = std::chrono::duration<double>(now - start_).count();
    Progress p;
    p.bytes_done = done_;
    p.bytes_total = total_;
    p.rate_bytes_per_s = secs > 0 ? static_cast<double>(done_) / secs : 0;
    if (total_ > done_ && p.rate_bytes_per_s > 0) {
      p.eta_s = static_cast<double>(total_ - done_) / p.rate_bytes_per_s;
    }
    fn_(p);
  }

  ProgressFn fn_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace cells::backup
