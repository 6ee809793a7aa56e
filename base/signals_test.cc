#include "base/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace cells {
namespace {

TEST(Signals, NamesParseWithOrWithoutPrefixInAnyCase) {
  EXPECT_EQ(*parse_signal_name("HUP"), SIGHUP);
  EXPECT_EQ(*parse_signal_name("SIGHUP"), SIGHUP);
  EXPECT_EQ(*parse_signal_name("usr2"), SIGUSR2);
  EXPECT_EQ(*parse_signal_name("SigWinch"), SIGWINCH);
  EXPECT_EQ(signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_EQ(signal_name(*parse_signal_name("term")), "SIGTERM");
}

TEST(Signals, UnknownAndDangerousNamesAreRefusedByName) {
  for (const char* bad : {"", "SIG", "KILL", "SIGSTOP", "HUP2", "1", "SIGHUP "}) {
    auto r = parse_signal_name(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("unknown signal '" + std::string(bad) + "'"),
              std::string::npos)
        << r.error().message();
  }
  EXPECT_EQ(signal_name(SIGKILL), "signal 9");
}

}  // namespace
}  // namespace cells
