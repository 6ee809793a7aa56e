#include "kernel/health.h"

#include <gtest/gtest.h>

namespace cells::kernel {
namespace {

using std::chrono::milliseconds;

TEST(HealthDuration, ParsesUnitsAndBareSeconds) {
  EXPECT_EQ(*parse_duration("--x", "500ms"), milliseconds(500));
  EXPECT_EQ(*parse_duration("--x", "5s"), milliseconds(5000));
  EXPECT_EQ(*parse_duration("--x", "5"), milliseconds(5000));
  EXPECT_EQ(*parse_duration("--x", "2m"), milliseconds(120000));
  EXPECT_EQ(*parse_duration("--x", "1h"), milliseconds(3600000));
}

TEST(HealthDuration, RejectsGarbageNamingTheFlag) {
  for (const char* bad : {"", "s", "5x", "-1s", "1.5s", "99999999999999999999"}) {
    auto r = parse_duration("--health-interval", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
    EXPECT_EQ(r.error().message(), "--health-interval '" + std::string(bad) +
                                       "' is not a duration (e.g. 500ms, 5s, 2m, 1h)");
  }
}

TEST(HealthSpec, ValidatesEveryField) {
  HealthcheckSpec ok{{"/bin/true"}, milliseconds(100), milliseconds(1000), 3};
  EXPECT_TRUE(validate(ok).ok());
  auto with = [&](auto change) {
    HealthcheckSpec s = ok;
    change(s);
    auto st = validate(s);
    return st.ok() ? std::string() : st.error().message();
  };
  EXPECT_EQ(with([](auto& s) { s.argv.clear(); }), "healthcheck: no command given");
  EXPECT_EQ(with([](auto& s) { s.timeout = milliseconds(5); }),
            "healthcheck timeout must be 10ms..1h");
  EXPECT_EQ(with([](auto& s) { s.interval = milliseconds(7200000); }),
            "healthcheck interval must be 10ms..1h");
  EXPECT_EQ(with([](auto& s) { s.timeout = milliseconds(2000); }),
            "healthcheck timeout (2000 ms) is longer than its interval (1000 ms)");
  EXPECT_EQ(with([](auto& s) { s.retries = 0; }), "healthcheck retries must be 1..100");
  EXPECT_EQ(with([](auto& s) { s.retries = 101; }), "healthcheck retries must be 1..100");
}

}  // namespace
}  // namespace cells::kernel
