// Unprivileged checks of the BPF policy's pure parts; loading and enforcement are exercised
// as root in tests/bpf/.
#include "kernel/bpf_policy.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace cells::kernel {
namespace {

TEST(DenialKindTest, NamesMatchTelemetryVocabulary) {
  EXPECT_EQ(to_string(DenialKind::kBind), "bind");
  EXPECT_EQ(to_string(DenialKind::kSysctl), "sysctl");
  EXPECT_EQ(to_string(DenialKind::kDevice), "device");
  EXPECT_EQ(to_string(DenialKind::kSocket), "socket");
}

TEST(FromLibbpfTest, NegativeErrnoKeepsErrnoAndKind) {
  Error e = from_libbpf(-EPERM, "load BPF programs");
  EXPECT_EQ(e.sys_errno(), EPERM);
  EXPECT_EQ(e.kind(), ErrorKind::kPermission);
  EXPECT_EQ(e.message(), "load BPF programs: Operation not permitted");

  Error exists = from_libbpf(-EEXIST, "pin map /sys/fs/bpf/x");
  EXPECT_EQ(exists.kind(), ErrorKind::kExists);
  EXPECT_EQ(exists.sys_errno(), EEXIST);
}

TEST(FromLibbpfTest, NonNegativeResultIsReportedNotTreatedAsErrnoZero) {
  Error e = from_libbpf(3, "attach");
  EXPECT_EQ(e.kind(), ErrorKind::kSystem);
  EXPECT_EQ(e.sys_errno(), 0);
  EXPECT_NE(e.message().find("result 3"), std::string::npos) << e.message();
}

TEST(CellCgroupLevelTest, CellSitsOneBelowTheInstanceDirectory) {
  auto host = Paths::from_root("/");
  ASSERT_TRUE(host.ok());
  auto level = cell_cgroup_level(*host);
  ASSERT_TRUE(level.ok()) << level.error().message();
  EXPECT_EQ(*level, 2u);  // unified root 0, /cells 1, /cells/<cell> 2

  auto scratch = Paths::from_root("/tmp/some/scratch");
  ASSERT_TRUE(scratch.ok());
  auto scratch_level = cell_cgroup_level(*scratch);
  ASSERT_TRUE(scratch_level.ok());
  EXPECT_EQ(*scratch_level, 2u);  // the instance name is one component whatever the root depth
}

}  // namespace
}  // namespace cells::kernel
