// LineSplitter: turns a byte stream (a service's stdout or stderr pipe) into log lines.
//
// syslog messages are lines, and a datagram that is too long is truncated by the daemon, so a
// line longer than the limit is cut into pieces of at most that many bytes (each a line of its
// own). A partial last line is held until more data arrives or flush() is called at EOF.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace cells::kernel {

inline constexpr size_t kMaxLogLine = 1024;

class LineSplitter {
 public:
  using Emit = std::function<void(std::string_view line)>;

  explicit LineSplitter(size_t max_line = kMaxLogLine) : max_line_(max_line) {}

  // Emits every complete line (without its '\n'; a trailing '\r' is dropped too) and every
  // max_line-sized piece of an over-long line.
  void feed(std::string_view data, const Emit& emit);
  // Emits the held partial line, if any (called when the stream reaches EOF).
  void flush(const Emit& emit);

  size_t pending() const { return partial_.size(); }

 private:
  void emit_line(std::string_view line, const Emit& emit);

  size_t max_line_;
  std::string partial_;
};

}  // namespace cells::kernel
