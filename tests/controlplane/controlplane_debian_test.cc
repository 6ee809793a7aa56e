// The `debian` base: debootstrap --variant=minbase from the configured mirror (~25 s, needs the
// Debian mirror), then a cell on it.
#include <gmock/gmock.h>

#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

class DebianBase : public ControlPlaneTest {};

TEST_F(DebianBase, CellRunsOnDebootstrappedBase) {
  Outcome boot = cellmgr({"system", "bootstrap", "--base", "debian"});
  ASSERT_EQ(boot.status, 0) << boot.out << boot.err;
  EXPECT_THAT(boot.out, ::testing::HasSubstr("built base debian"));
  ASSERT_EQ(cellmgr({"cell", "create", "deb", "--base", "debian", "--profile", "medium", "--cmd",
                     "sleep 1000"}).status, 0);
  Outcome start = cellmgr({"cell", "start", "deb"});
  ASSERT_EQ(start.status, 0) << start.err;
  Outcome r = cellmgr({"cell", "shell", "deb", "/bin/sh", "-c", "cat /etc/debian_version; cat /etc/hostname; dpkg -l | grep -c ^ii"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::MatchesRegex("12\\.[0-9]+\ndeb\n[0-9]+\n"));
  ASSERT_EQ(cellmgr({"cell", "stop", "deb"}).status, 0);
  Outcome again = cellmgr({"system", "bootstrap", "--base", "debian"});
  EXPECT_THAT(again.out, ::testing::HasSubstr("Nothing to do"));
}

}  // namespace
}  // namespace cells::controlplane::testing
