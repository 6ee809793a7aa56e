#include "kernel/supervise_spec.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <syslog.h>

namespace cells::kernel {
namespace {

SuperviseSpec full_spec() {
  SuperviseSpec s;
  s.cid = 42;
  s.name = "web";
  s.argv = {"/bin/httpd", "-f", "", "a b"};
  s.rlimits.nofile = 1024;
  s.rlimits.core = 0;
  s.log.facility = LOG_LOCAL3;
  s.log.stdout_level = LOG_INFO;
  s.log.stderr_level = LOG_WARNING;
  s.log.tag = "web-tag";
  s.budget = {7, std::chrono::seconds(120)};
  s.grace = std::chrono::milliseconds(2500);
  s.run_as = Credentials{1000, 1001, {4, 27, 100}};
  s.health = HealthcheckSpec{{"/bin/check", "--quick"}, std::chrono::milliseconds(300),
                             std::chrono::milliseconds(2000), 4};
  s.reload_signal = SIGHUP;
  return s;
}

TEST(SuperviseSpec, RoundTripsEveryField) {
  SuperviseSpec in = full_spec();
  auto out = decode_supervise_spec(encode_supervise_spec(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->cid, 42u);
  EXPECT_EQ(out->name, "web");
  EXPECT_EQ(out->argv, in.argv);
  EXPECT_EQ(out->rlimits.nofile, std::optional<uint64_t>(1024));
  EXPECT_EQ(out->rlimits.as, std::nullopt);
  EXPECT_EQ(out->rlimits.core, std::optional<uint64_t>(0));
  EXPECT_EQ(out->log.facility, LOG_LOCAL3);
  EXPECT_EQ(out->log.stdout_level, LOG_INFO);
  EXPECT_EQ(out->log.stderr_level, LOG_WARNING);
  EXPECT_EQ(out->log.tag, "web-tag");
  EXPECT_EQ(out->budget.restarts, 7u);
  EXPECT_EQ(out->budget.window, std::chrono::seconds(120));
  EXPECT_EQ(out->grace, std::chrono::milliseconds(2500));
  ASSERT_TRUE(out->run_as.has_value());
  EXPECT_EQ(out->run_as->uid, 1000u);
  EXPECT_EQ(out->run_as->gid, 1001u);
  EXPECT_EQ(out->run_as->groups, (std::vector<gid_t>{4, 27, 100}));
  ASSERT_TRUE(out->health.has_value());
  EXPECT_EQ(out->health->argv, in.health->argv);
  EXPECT_EQ(out->health->timeout, std::chrono::milliseconds(300));
  EXPECT_EQ(out->health->interval, std::chrono::milliseconds(2000));
  EXPECT_EQ(out->health->retries, 4u);
  EXPECT_EQ(out->reload_signal, SIGHUP);
}

TEST(SuperviseSpec, RoundTripsWithoutOptionalParts) {
  SuperviseSpec in;
  in.cid = 1;
  in.name = "c";
  in.argv = {"sleep", "1"};
  auto out = decode_supervise_spec(encode_supervise_spec(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_FALSE(out->run_as.has_value());
  EXPECT_FALSE(out->health.has_value());
  EXPECT_FALSE(out->rlimits.nofile.has_value());
  EXPECT_EQ(out->log.tag, in.log.tag);
  EXPECT_EQ(out->grace, in.grace);
}

TEST(SuperviseSpec, EveryTruncationIsRejected) {
  std::string bytes = encode_supervise_spec(full_spec());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto out = decode_supervise_spec(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(out.ok()) << "accepted " << n << " of " << bytes.size() << " bytes";
    EXPECT_EQ(out.error().kind(), ErrorKind::kCorrupt);
    EXPECT_EQ(out.error().message().rfind("supervise spec: bad ", 0), 0u) << out.error().message();
  }
}

TEST(SuperviseSpec, BadInputNamesTheField) {
  std::string bytes = encode_supervise_spec(full_spec());
  std::string wrong_magic = bytes;
  wrong_magic[0] ^= 1;
  EXPECT_EQ(decode_supervise_spec(wrong_magic).error().message(), "supervise spec: bad magic");
  EXPECT_EQ(decode_supervise_spec(bytes + "x").error().message(), "supervise spec: bad length");
  EXPECT_EQ(decode_supervise_spec("").error().message(), "supervise spec: bad magic");
  // An argv count larger than the input left.
  std::string huge_argv = bytes;
  size_t argv_at = 4 + 4 + 4 + 3;  // magic, cid, name length, "web"
  huge_argv[argv_at + 3] = '\x7f';
  EXPECT_EQ(decode_supervise_spec(huge_argv).error().message(), "supervise spec: bad argv");
}

}  // namespace
}  // namespace cells::kernel
