// Syslog forwarding for supervised services: facility/level names and a syslog(3)-compatible
// writer.
//
// SyslogWriter sends exactly what glibc's syslog(3) sends (an RFC 3164 "local" message,
// "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG", one datagram on an AF_UNIX socket), so any syslog
// daemon reading /dev/log accepts it. It exists instead of openlog(3) because syslog(3) cannot be
// pointed at another socket: the socket is /dev/log unless CELLS_SYSLOG_SOCKET names another
// one (tests start their own rsyslog on a private socket).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/fd.h"
#include "base/result.h"

namespace cells::kernel {

// "daemon", "local0", ... (the names of syslog.conf(5)); returns the LOG_* facility value.
Result<int> parse_facility(std::string_view name);
// "emerg".."debug" (also "panic", "error", "warn") or "0".."7".
Result<int> parse_level(std::string_view name);
std::string_view facility_name(int facility);
std::string_view level_name(int level);

struct LogConfig {
  int facility;          // LOG_DAEMON by default
  int stdout_level;      // LOG_NOTICE
  int stderr_level;      // LOG_ERR
  std::string tag = "cellctl";
  LogConfig();
};

class SyslogWriter {
 public:
  // PATH empty = $CELLS_SYSLOG_SOCKET or /dev/log. Connecting is lazy: a daemon that is not
  // running yet (or restarts) costs the lines sent meanwhile, never the service.
  static SyslogWriter open(std::string tag, int facility, std::string path = {});

  // Sends one message at LEVEL of the writer's facility. Returns the error of the last send
  // attempt (after one reconnect) so tests can see it; callers forwarding output ignore it.
  Status log(int level, std::string_view message);

  const std::string& socket_path() const { return path_; }

 private:
  SyslogWriter(std::string tag, int facility, std::string path)
      : tag_(std::move(tag)), facility_(facility), path_(std::move(path)) {}
  Status connect();

  std::string tag_;
  int facility_;
  std::string path_;
  pid_t pid_ = 0;
  Fd sock_;
};

}  // namespace cells::kernel
