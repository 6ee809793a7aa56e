// Privileged supervision tests: a real rsyslogd, a real cgroup, real processes.
#include <syslog.h>

#include <gtest/gtest.h>

#include <cmath>
#include <ctime>

#include "kernel/supervise.h"
#include "kernel/telemetry.h"
#include "tests/supervise/harness.h"

namespace cells::testing {
namespace {

using namespace std::chrono_literals;

class SuperviseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("supervise");
    paths_ = *Paths::from_root(dir_ + "/root");
    syslog_ = std::make_unique<Rsyslog>(dir_);
    ::setenv("CELLS_SYSLOG_SOCKET", syslog_->socket().c_str(), 1);
    cell_ = std::make_unique<ScratchCgroup>(paths_, "web");
  }
  void TearDown() override {
    if (sup_pid_ > 0) {
      ::kill(sup_pid_, SIGKILL);
      ::waitpid(sup_pid_, nullptr, 0);
    }
    cell_.reset();
    syslog_.reset();
    ::unsetenv("CELLS_SYSLOG_SOCKET");
    fs::remove_all(dir_);
  }
  kernel::SuperviseSpec spec(std::vector<std::string> argv) {
    kernel::SuperviseSpec s;
    s.cid = 7;
    s.name = "web";
    s.argv = std::move(argv);
    s.cgroup_dir = cell_->dir();
    s.log.tag = "webtag";
    return s;
  }
  void start(kernel::SuperviseSpec s) {
    sup_pid_ = start_supervisor(paths_, std::move(s), host_launcher(cell_->dir()));
    ASSERT_TRUE(wait_until([&] { return fs::exists(kernel::supervisor_pid_path(paths_, "web")); },
                           5s));
  }
  // Stops through the pid file, as `cellctl supervise --stop` does, and reaps the supervisor.
  void stop() {
    auto st = kernel::stop_supervisor(paths_, "web", 20s);
    ASSERT_TRUE(st.ok()) << st.error().message();
    int status = 0;
    ASSERT_EQ(::waitpid(sup_pid_, &status, 0), sup_pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    sup_pid_ = -1;
  }
  // The supervision half is published only with a sample half (the cell's init writes that);
  // this test has no init, so it writes an identity the way init would.
  void publish_identity() {
    auto f = kernel::SnapshotFile::open_rw(paths_);
    ASSERT_TRUE(f.ok());
    kernel::CellStats st;
    st.cid = 7;
    st.name = "web";
    st.root = "/srv/web";
    ASSERT_TRUE(f->write_sample(st).ok());
  }

  std::string dir_;
  Paths paths_;
  std::unique_ptr<Rsyslog> syslog_;
  std::unique_ptr<ScratchCgroup> cell_;
  pid_t sup_pid_ = -1;
};

TEST_F(SuperviseTest, ForwardsOutputWithFacilityLevelTagAndPrefix) {
  auto s = spec({"/bin/sh", "-c",
                 "printf 'out1\\nout2\\n'; printf 'err1\\n' >&2; "
                 "head -c 2500 /dev/zero | tr '\\0' x; echo; printf 'partial'; exec sleep 1000"});
  s.log.facility = LOG_LOCAL3;
  s.log.stdout_level = LOG_INFO;
  s.log.stderr_level = LOG_WARNING;
  start(std::move(s));
  ASSERT_TRUE(syslog_->wait_for("stdout: out2", 10s));
  ASSERT_TRUE(syslog_->wait_for("stderr: err1", 10s));
  // The partial last line is held until the stream ends: stopping the service ends it.
  EXPECT_FALSE(syslog_->wait_for("stdout: partial", 300ms));
  stop();
  ASSERT_TRUE(syslog_->wait_for("stdout: partial", 10s));

  std::vector<size_t> piece_sizes;
  bool saw_out1 = false, saw_err1 = false, saw_partial = false, saw_start = false;
  for (const auto& l : syslog_->lines()) {
    std::istringstream in(l);
    std::string when, facility, severity, tagfield;
    in >> when >> facility >> severity >> tagfield;
    std::string msg = l.substr(l.find(tagfield) + tagfield.size() + 1);
    EXPECT_EQ(facility, "local3") << l;
    EXPECT_EQ(tagfield.rfind("webtag[", 0), 0u) << l;
    if (msg == "cell=web cid=7 stdout: out1") saw_out1 = (severity == "info");
    if (msg == "cell=web cid=7 stderr: err1") saw_err1 = (severity == "warning");
    if (msg == "cell=web cid=7 stdout: partial") saw_partial = (severity == "info");
    if (msg.rfind("cell=web cid=7 starting supervised command", 0) == 0) saw_start = true;
    const std::string xs = "cell=web cid=7 stdout: x";
    if (msg.rfind(xs, 0) == 0) {
      piece_sizes.push_back(msg.size() - (xs.size() - 1));
    }
  }
  EXPECT_TRUE(saw_out1);
  EXPECT_TRUE(saw_err1);
  EXPECT_TRUE(saw_partial);
  EXPECT_TRUE(saw_start);
  EXPECT_EQ(piece_sizes, (std::vector<size_t>{1024, 1024, 452}));
  EXPECT_TRUE(syslog_->wait_for("cell=web cid=7 stopped", 5s));
}

double seconds_of(const std::string& rfc3339) {
  // "2026-11-22T05:16:17.192481+00:00": only the time of day matters for gaps under a minute.
  int h = 0, m = 0;
  double s = 0;
  std::sscanf(rfc3339.c_str() + 11, "%d:%d:%lf", &h, &m, &s);
  return h * 3600 + m * 60 + s;
}

TEST_F(SuperviseTest, CrashLoopBacksOffThenFails) {
  publish_identity();
  auto s = spec({"/bin/sh", "-c", "echo boom; exit 3"});
  s.budget = {3, 60s};
  start(std::move(s));
  ASSERT_TRUE(syslog_->wait_for("cid=7 failed:", 20s));

  std::vector<double> starts;
  std::vector<std::string> restarts;
  int exits = 0;
  for (const auto& l : syslog_->lines()) {
    if (l.find("cid=7 starting supervised command") != std::string::npos) {
      starts.push_back(seconds_of(l));
    }
    if (l.find("exited status=3") != std::string::npos) {
      ++exits;
      EXPECT_NE(l.find(" warning "), std::string::npos) << l;
    }
    auto r = l.find("restarting supervised command in ");
    if (r != std::string::npos) {
      restarts.push_back(l.substr(r + 33));
      EXPECT_NE(l.find(" notice "), std::string::npos) << l;
    }
  }
  EXPECT_EQ(restarts, (std::vector<std::string>{"1 seconds", "2 seconds", "4 seconds"}));
  EXPECT_EQ(exits, 4);
  ASSERT_EQ(starts.size(), 4u);
  const double expected[] = {1, 2, 4};
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(starts[i + 1] - starts[i], expected[i], 0.4) << "gap " << i;
  }

  // Failed: no further start, and the state is in the snapshot that list/stats read.
  auto snap = kernel::SnapshotFile::read_all(paths_);
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->size(), 1u);
  EXPECT_EQ((*snap)[0].state, kernel::SuperviseState::kFailed);
  EXPECT_EQ((*snap)[0].restarts, 3u);
  EXPECT_EQ((*snap)[0].supervisor_pid, sup_pid_);
  std::this_thread::sleep_for(1500ms);
  int starts_now = 0;
  for (const auto& l : syslog_->lines()) {
    starts_now += l.find("cid=7 starting supervised command") != std::string::npos;
  }
  EXPECT_EQ(starts_now, 4);
  stop();
  EXPECT_EQ(kernel::SnapshotFile::read_all(paths_)->at(0).state,
            kernel::SuperviseState::kStopped);
  EXPECT_FALSE(fs::exists(kernel::supervisor_pid_path(paths_, "web")));
}

TEST_F(SuperviseTest, StopKillsServiceThatIgnoresTermAndEscapesIntoNewSessions) {
  auto s = spec({"/bin/sh", "-c",
                 "trap '' TERM; setsid sh -c \"trap '' TERM; exec sleep 1000\" & "
                 "setsid sleep 1000 & while :; do sleep 1; done"});
  s.grace = 500ms;
  start(std::move(s));
  ASSERT_TRUE(wait_until([&] { return cell_->procs().size() >= 4; }, 5s)) << cell_->procs().size();
  auto before = std::chrono::steady_clock::now();
  stop();
  EXPECT_TRUE(cell_->procs().empty());
  // The grace period was honoured (the service ignored SIGTERM), and no fixed long sleep.
  auto took = std::chrono::steady_clock::now() - before;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 5s);
}

TEST_F(SuperviseTest, StopSparesTheCellInit) {
  // A long-lived process stands in for the cell's init.
  auto init = host_launcher(cell_->dir())({.argv = {"sleep", "1000"}});
  ASSERT_TRUE(init.ok());
  auto s = spec({"/bin/sh", "-c", "setsid sleep 1000 & exec sleep 1000"});
  s.init_pid = init->pid;
  s.grace = 200ms;
  start(std::move(s));
  ASSERT_TRUE(wait_until([&] { return cell_->procs().size() == 3; }, 5s));
  stop();
  EXPECT_EQ(cell_->procs(), (std::vector<pid_t>{init->pid}));
  ::kill(init->pid, SIGKILL);
  ::waitpid(init->pid, nullptr, 0);
}

std::string status_line(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  for (std::string l; std::getline(in, l);) {
    if (l.rfind(key + ":", 0) == 0) return l.substr(key.size() + 1);
  }
  return {};
}

TEST_F(SuperviseTest, RunAsAndRlimitsApplyToTheService) {
  auto s = spec({"sleep", "1000"});
  s.run_as = kernel::Credentials{12345, 23456, {34567, 45678}};
  s.rlimits.nofile = 77;
  start(std::move(s));
  ASSERT_TRUE(wait_until([&] { return cell_->procs().size() == 1; }, 5s));
  pid_t svc = cell_->procs()[0];
  ASSERT_TRUE(wait_until([&] { return slurp("/proc/" + std::to_string(svc) + "/comm") == "sleep\n"; },
                         5s));
  EXPECT_EQ(status_line(svc, "Uid"), "\t12345\t12345\t12345\t12345");
  EXPECT_EQ(status_line(svc, "Gid"), "\t23456\t23456\t23456\t23456");
  EXPECT_EQ(status_line(svc, "Groups"), "\t34567 45678 ");
  EXPECT_NE(slurp("/proc/" + std::to_string(svc) + "/limits")
                .find("Max open files            77                   77"),
            std::string::npos);
  EXPECT_TRUE(syslog_->wait_for("starting supervised command as uid=12345 gid=23456", 5s));
  stop();
}

TEST_F(SuperviseTest, BadSpecsStartNothing) {
  auto s = spec({});
  auto sup = kernel::Supervisor::create(paths_, s, host_launcher(cell_->dir()));
  ASSERT_FALSE(sup.ok());
  EXPECT_EQ(sup.error().kind(), ErrorKind::kInvalid);
  EXPECT_NE(sup.error().message().find("no command"), std::string::npos);
  EXPECT_FALSE(fs::exists(kernel::supervisor_pid_path(paths_, "web")));
  EXPECT_TRUE(cell_->procs().empty());
  auto st = kernel::stop_supervisor(paths_, "web", 1s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace cells::testing
