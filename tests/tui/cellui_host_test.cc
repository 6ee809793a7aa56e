// cellui --host: the bridge runs as `ssh HOST cellmgr serve --stdio` against an sshd this test
// starts on a free loopback port, with its own host key, an authorized key for root and a
// config in the scratch root. The remote side finds cellmgr on the PATH that the authorized
// key's environment= option sets (PermitUserEnvironment), as an operator's PATH would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/files.h"
#include "tests/tui/tmux_harness.h"

namespace cells::tui::testing {
namespace {

using ::testing::HasSubstr;

class TuiHostTest : public TuiTest {
 protected:
  void SetUp() override {
    TuiTest::SetUp();
    if (IsSkipped()) return;
    ssh_dir_ = scratch_ + "/ssh";
    ASSERT_EQ(::mkdir(ssh_dir_.c_str(), 0700), 0);
    for (const char* key : {"host_key", "client_key"})
      ASSERT_EQ(host({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", ssh_dir_ + "/" + key}).status, 0);
    auto pub = read_file(ssh_dir_ + "/client_key.pub");
    ASSERT_TRUE(pub.ok());
    std::string bin_dir = cellmgr_path().substr(0, cellmgr_path().rfind('/'));
    ASSERT_TRUE(write_file_atomic(ssh_dir_ + "/authorized_keys",
                                  "environment=\"PATH=" + bin_dir + ":/usr/sbin:/usr/bin:/sbin:/bin\","
                                  "environment=\"CELLS_CELLCTL=" + std::string(CELLCTL_PATH) + "\" " + *pub,
                                  0600).ok());
    port_ = free_port();
    ASSERT_TRUE(write_file_atomic(ssh_dir_ + "/sshd_config",
                                  "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\n"
                                  "HostKey " + ssh_dir_ + "/host_key\n"
                                  "AuthorizedKeysFile " + ssh_dir_ + "/authorized_keys\n"
                                  "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                                  "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                                  "PermitUserEnvironment PATH,CELLS_CELLCTL\n"
                                  "PidFile " + ssh_dir_ + "/sshd.pid\n").ok());
    // sshd's privilege separation directory (Debian creates it at boot through its unit).
    ::mkdir("/run/sshd", 0755);
    sshd_ = ::fork();
    if (sshd_ == 0) {
      ::setsid();
      // sshd re-execs itself and insists on an absolute argv[0].
      ::execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", (ssh_dir_ + "/sshd_config").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready once it accepts a connection and runs a command.
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
      up = host({"ssh", "-p", std::to_string(port_), "-i", ssh_dir_ + "/client_key", "-o",
                 "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o",
                 "BatchMode=yes", "-o", "LogLevel=ERROR", "root@127.0.0.1", "which", "cellmgr"})
               .out.find("/cellmgr") != std::string::npos;
      if (!up) ::usleep(100 * 1000);
    }
    ASSERT_TRUE(up) << "sshd on port " << port_ << " did not come up";
  }

  void TearDown() override {
    TuiTest::TearDown();
    if (sshd_ > 0) {
      ::kill(sshd_, SIGTERM);
      ::waitpid(sshd_, nullptr, 0);
    }
  }

  std::string ssh_command() const {
    return "CELLUI_SSH=ssh -p " + std::to_string(port_) + " -i " + ssh_dir_ +
           "/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o "
           "BatchMode=yes -o LogLevel=ERROR";
  }

  std::string ssh_dir_;
  uint16_t port_ = 0;
  pid_t sshd_ = -1;
};

TEST_F(TuiHostTest, HostRunsTheBridgeOverSsh) {
  bootstrap();
  declare_sleeper("remote1");
  pass_cellmgr_ = false;  // the remote side's PATH supplies cellmgr
  start_cellui({"--host", "root@127.0.0.1"}, 100, 30, {ssh_command()});
  ASSERT_TRUE(wait_for("cells: 1  running: 0")) << last_screen_;
  EXPECT_THAT(last_screen_, HasSubstr("host root@127.0.0.1"));
  // The bridge process cellui started is ssh, not cellmgr.
  std::string comm = read_file("/proc/" + std::to_string(bridge_pid()) + "/comm").value_or("");
  EXPECT_EQ(comm, "ssh\n");
  keys({"s"});
  ASSERT_TRUE(wait_for("running: 1")) << last_screen_;
  EXPECT_EQ(running("remote1"), "1");
  keys({"x"});
  ASSERT_TRUE(wait_for("[Enter] Stop")) << last_screen_;
  keys({"Enter"});
  ASSERT_TRUE(wait_for("running: 0")) << last_screen_;
  EXPECT_EQ(running("remote1"), "0");
  keys({"q"});
  EXPECT_TRUE(wait_exit());
}

}  // namespace
}  // namespace cells::tui::testing
