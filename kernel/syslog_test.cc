#include "kernel/syslog.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace cells::kernel {
namespace {

TEST(Syslog, ParsesFacilities) {
  EXPECT_EQ(*parse_facility("daemon"), LOG_DAEMON);
  EXPECT_EQ(*parse_facility("local7"), LOG_LOCAL7);
  EXPECT_EQ(*parse_facility("authpriv"), LOG_AUTHPRIV);
  EXPECT_EQ(facility_name(LOG_LOCAL3), "local3");
}

TEST(Syslog, ParsesLevelsByNameAndNumber) {
  EXPECT_EQ(*parse_level("notice"), LOG_NOTICE);
  EXPECT_EQ(*parse_level("warn"), LOG_WARNING);
  EXPECT_EQ(*parse_level("0"), LOG_EMERG);
  EXPECT_EQ(*parse_level("7"), LOG_DEBUG);
  EXPECT_EQ(level_name(LOG_WARNING), "warning");
}

TEST(Syslog, RejectsUnknownNamesNamingThem) {
  auto f = parse_facility("local8");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind(), ErrorKind::kInvalid);
  EXPECT_NE(f.error().message().find("facility 'local8'"), std::string::npos);
  for (const char* bad : {"8", "-1", "", "loud", "Notice"}) {
    auto l = parse_level(bad);
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_NE(l.error().message().find("level '"), std::string::npos);
  }
}

TEST(Syslog, DefaultsFollowTheReference) {
  LogConfig c;
  EXPECT_EQ(c.facility, LOG_DAEMON);
  EXPECT_EQ(c.stdout_level, LOG_NOTICE);
  EXPECT_EQ(c.stderr_level, LOG_ERR);
  EXPECT_EQ(c.tag, "cellctl");
}

// A datagram socket standing in for the daemon: checks the bytes on the wire are what
// syslog(3) sends (the rsyslog round trip is in tests/supervise).
TEST(Syslog, SendsRfc3164LocalFormat) {
  char dir[] = "/tmp/cells-syslog-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/log.sock";
  int s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strcpy(a.sun_path, path.c_str());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);

  auto w = SyslogWriter::open("mytag", LOG_LOCAL2, path);
  ASSERT_TRUE(w.log(LOG_WARNING, "hello world").ok());
  char buf[256];
  ssize_t n = ::recv(s, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  std::string got(buf, n);
  EXPECT_EQ(got.rfind("<" + std::to_string(LOG_LOCAL2 | LOG_WARNING) + ">", 0), 0u) << got;
  EXPECT_NE(got.find(" mytag[" + std::to_string(::getpid()) + "]: hello world"),
            std::string::npos)
      << got;

  // The daemon going away is reported, not fatal; it coming back is picked up.
  ::close(s);
  ::unlink(path.c_str());
  EXPECT_FALSE(w.log(LOG_INFO, "lost").ok());
  s = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_TRUE(w.log(LOG_INFO, "back").ok());
  n = ::recv(s, buf, sizeof buf, 0);
  EXPECT_NE(std::string(buf, n).find("]: back"), std::string::npos);
  ::close(s);
  ::unlink(path.c_str());
  ::rmdir(dir);
}

}  // namespace
}  // namespace cells::kernel
