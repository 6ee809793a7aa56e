#include "kernel/syslog.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "base/syscall.h"

namespace cells::kernel {

namespace {

struct Named {
  std::string_view name;
  int value;
};

constexpr std::array<Named, 20> kFacilities{{
    {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
    {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
    {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
    {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
    {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
}};

constexpr std::array<Named, 11> kLevels{{
    {"emerg", LOG_EMERG}, {"alert", LOG_ALERT},     {"crit", LOG_CRIT},
    {"err", LOG_ERR},     {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO},   {"debug", LOG_DEBUG},
    // Aliases syslog.conf(5) accepts; listed after the canonical names so lookups by value
    // find those first.
    {"panic", LOG_EMERG}, {"error", LOG_ERR},       {"warn", LOG_WARNING},
}};

}  // namespace

Result<int> parse_facility(std::string_view name) {
  for (const auto& f : kFacilities) {
    if (f.name == name) return f.value;
  }
  return Error::invalid("unknown syslog facility '" + std::string(name) +
                        "' (use auth, authpriv, cron, daemon, ftp, kern, lpr, mail, news, "
                        "syslog, user, uucp or local0..local7)");
}

Result<int> parse_level(std::string_view name) {
  if (name.size() == 1 && name[0] >= '0' && name[0] <= '7') return name[0] - '0';
  for (const auto& l : kLevels) {
    if (l.name == name) return l.value;
  }
  return Error::invalid("unknown syslog level '" + std::string(name) +
                        "' (use emerg, alert, crit, err, warning, notice, info, debug or 0..7)");
}

std::string_view facility_name(int facility) {
  for (const auto& f : kFacilities) {
    if (f.value == facility) return f.name;
  }
  return "?";
}

std::string_view level_name(int level) {
  for (const auto& l : kLevels) {
    if (l.value == level) return l.name;
  }
  return "?";
}

LogConfig::LogConfig() : facility(LOG_DAEMON), stdout_level(LOG_NOTICE), stderr_level(LOG_ERR) {}

SyslogWriter SyslogWriter::open(std::string tag, int facility, std::string path) {
  if (path.empty()) {
    const char* env = std::getenv("CELLS_SYSLOG_SOCKET");
    path = (env && *env) ? env : "/dev/log";
  }
  return SyslogWriter(std::move(tag), facility, std::move(path));
}

Status SyslogWriter::connect() {
  sock_.reset();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path_.size() >= sizeof addr.sun_path) {
    return Error::invalid("syslog socket path '" + path_ + "' is too long");
  }
  std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
  Fd s = CELLS_SYSCALL_FD(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "syslog socket");
  CELLS_SYSCALL(::connect(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr),
                "connect syslog socket " + path_);
  sock_ = std::move(s);
  return ok_status();
}

Status SyslogWriter::log(int level, std::string_view message) {
  // The pid is read per message, not cached at open: the writer is opened before the
  // supervisor daemonises.
  pid_ = ::getpid();
  char stamp[32];
  time_t now = ::time(nullptr);
  struct tm tm;
  ::localtime_r(&now, &tm);
  ::strftime(stamp, sizeof stamp, "%h %e %T", &tm);
  std::string msg = "<" + std::to_string((facility_ & LOG_FACMASK) | (level & LOG_PRIMASK)) +
                    ">" + stamp + " " + tag_ + "[" + std::to_string(pid_) + "]: ";
  msg.append(message);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!sock_.valid()) {
      if (auto st = connect(); !st) {
        if (attempt == 1) return st;
        continue;
      }
    }
    ssize_t n = ::send(sock_.get(), msg.data(), msg.size(), MSG_NOSIGNAL);
    if (n >= 0) return ok_status();
    int err = errno;
    sock_.reset();  // the daemon restarted or went away: reconnect once
    if (attempt == 1) return Error::sys(err, "send to syslog socket " + path_);
  }
  return ok_status();
}

}  // namespace cells::kernel
