// The install rules and the systemd unit: a staged install (DESTDIR) puts every file where
// the runtime and the host look for it, and the installed unit passes
// `systemd-analyze verify` against that tree (host units copied in, so its ordering targets
// resolve), and fails it once the binary its ExecStart names is missing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support.h"

namespace cells::packaging_test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kInstalled = {
    "usr/sbin/cellctl",
    "usr/sbin/cellmgr",
    "usr/libexec/cells/cells-init",
    "usr/libexec/cells/cells-sampler",
    "usr/libexec/cells/cells-supervise",
    "usr/share/man/man1/cellui.1",
    "usr/share/man/man5/cellmgr.cell.5",
    "usr/share/man/man5/cellmgr.volume.5",
    "usr/share/man/man5/cellmgr.apply.5",
    "usr/share/man/man5/cellmgr.conf.5",
    "usr/share/man/man8/cellctl.8",
    "usr/share/man/man8/cellmgr.8",
    "usr/share/bash-completion/completions/cellctl",
    "usr/share/bash-completion/completions/cellmgr",
    "lib/systemd/system/cellmgr.service",
};

class StagedInstall : public ::testing::Test {
 protected:
  void SetUp() override {
    stage_ = make_temp_dir("stage");
    ASSERT_FALSE(stage_.empty());
    auto r = run("DESTDIR=" + stage_ + " cmake --install " + quote(CELLS_BUILD_DIR) + " --prefix /usr");
    ASSERT_EQ(r.status, 0) << r.out;
  }
  void TearDown() override { fs::remove_all(stage_); }

  std::string verify_unit() {
    // The analyzer resolves the unit's dependencies (sysinit.target, multi-user.target, ...)
    // under --root, so the host's own units are copied beside ours.
    fs::copy("/lib/systemd/system", stage_ + "/lib/systemd/system",
             fs::copy_options::recursive | fs::copy_options::skip_existing |
                 fs::copy_options::copy_symlinks);
    auto r = run("systemd-analyze verify --man=no --root=" + stage_ + " cellmgr.service");
    return std::to_string(r.status) + ":" + r.out;
  }

  std::string stage_;
};

TEST_F(StagedInstall, EveryFileLandsWhereItIsLookedFor) {
  for (const auto& f : kInstalled) EXPECT_TRUE(fs::is_regular_file(stage_ + "/" + f)) << f;
  for (const char* exe : {"usr/sbin/cellctl", "usr/sbin/cellmgr", "usr/libexec/cells/cells-init"}) {
    struct stat st {};
    ASSERT_EQ(::stat((stage_ + "/" + exe).c_str(), &st), 0) << exe;
    EXPECT_EQ(st.st_mode & 0111, 0111u) << exe;
  }
  auto r = run(stage_ + "/usr/sbin/cellctl --help");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Subcommands:"), std::string::npos) << r.out;
}

TEST_F(StagedInstall, UnitPassesSystemdAnalyzeVerify) { EXPECT_EQ(verify_unit(), "0:"); }

TEST_F(StagedInstall, VerifyFailsWhenExecStartIsMissing) {
  fs::remove(stage_ + "/usr/sbin/cellmgr");
  auto out = verify_unit();
  EXPECT_NE(out.rfind("0:", 0), 0u) << out;
  EXPECT_NE(out.find("/usr/sbin/cellmgr"), std::string::npos) << out;
}

TEST(ServiceUnit, StartsByReplayingAndStopsEveryCell) {
  auto unit = slurp(CELLS_UNIT);
  for (const char* line : {"Type=oneshot", "RemainAfterExit=yes", "ExecStart=/usr/sbin/cellmgr apply --boot",
                           "ExecStop=/usr/sbin/cellmgr cell stop --all", "WantedBy=multi-user.target"}) {
    EXPECT_NE(unit.find(std::string("\n") + line + "\n"), std::string::npos) << line;
  }
  std::string after;
  for (const auto& l : lines_of(unit)) if (l.rfind("After=", 0) == 0) after += l + " ";
  EXPECT_NE(after.find("local-fs.target"), std::string::npos) << after;
  EXPECT_NE(after.find("network-online.target"), std::string::npos) << after;
}

TEST(ServiceUnit, StopCommandExistsInTheBuiltCellmgr) {
  auto stop = run(std::string(CELLMGR_PATH) + " cell stop --help");
  EXPECT_EQ(stop.status, 0) << stop.out;
  EXPECT_NE(stop.out.find("\n  --all "), std::string::npos) << stop.out;
}

TEST(ServiceUnit, StartCommandExistsInTheBuiltCellmgr) {
  auto apply = run(std::string(CELLMGR_PATH) + " apply --help");
  ASSERT_EQ(apply.status, 0) << apply.out;
  EXPECT_NE(apply.out.find("\n  --boot "), std::string::npos) << apply.out;
  // It is a usage error (exit 2) combined with anything apply --boot does not take.
  auto names = run(std::string(CELLMGR_PATH) + " apply --boot web");
  EXPECT_EQ(names.status, 2) << names.out;
}

}  // namespace
}  // namespace cells::packaging_test
