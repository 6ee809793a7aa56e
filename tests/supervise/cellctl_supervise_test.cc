// `cellctl supervise` and `cellctl stats` end to end on a real cell: daemonising, the
// supervisor's title in ps, stop, the failed state in stats, and bad input that starts nothing.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <sstream>
#include <cstdio>

#include "kernel/bpf_policy.h"
#include "kernel/seed_ns.h"
#include "kernel/supervise.h"
#include "tests/supervise/harness.h"

namespace cells::testing {
namespace {

using namespace std::chrono_literals;

struct RunResult {
  int status = -1;
  std::string out;  // stdout and stderr
};

RunResult run(const std::string& cmd) {
  RunResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class CellctlSuperviseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("cellctl-supervise");
    syslog_ = std::make_unique<Rsyslog>(dir_);
    ::setenv("CELLS_SYSLOG_SOCKET", syslog_->socket().c_str(), 1);
    std::string root = dir_ + "/root";
    for (const char* d : {"/bin", "/proc", "/dev", "/tmp", "/var", "/run", "/etc"}) {
      fs::create_directories(root + d);
    }
    fs::copy_file("/bin/busybox", root + "/bin/busybox");
    for (const char* app : {"sh", "sleep", "echo", "nc"}) fs::create_symlink("busybox", root + "/bin/" + app);
    ctl_ = std::string(CELLCTL_PATH) + " --root " + dir_ + "/install";
    auto r = run(ctl_ + " create -l low -n svc " + root);
    ASSERT_EQ(r.status, 0) << r.out;
    paths_ = *Paths::from_root(dir_ + "/install");
  }
  void TearDown() override {
    run(ctl_ + " supervise --stop svc");
    auto r = run(ctl_ + " destroy --force svc");
    EXPECT_EQ(r.status, 0) << r.out;
    // Creating the cell loaded this scratch instance's cgroup-BPF programs; they go too.
    auto st = kernel::BpfPolicy::unload(paths_);
    EXPECT_TRUE(st.ok()) << st.error().message();
    auto seed = kernel::release_seed_mount_ns(paths_);  // and the seed its namespace came from
    EXPECT_TRUE(seed.ok()) << seed.error().message();
    syslog_.reset();
    ::unsetenv("CELLS_SYSLOG_SOCKET");
    fs::remove_all(dir_);
  }
  std::vector<pid_t> cell_procs() {
    std::vector<pid_t> out;
    std::istringstream in(slurp(paths_.cgroup_parent() + "/svc/cgroup.procs"));
    for (pid_t p; in >> p;) out.push_back(p);
    return out;
  }

  // The service's processes (healthchecks come and go beside them).
  std::vector<pid_t> sleepers() {
    std::vector<pid_t> out;
    for (pid_t p : cell_procs()) {
      if (slurp("/proc/" + std::to_string(p) + "/cmdline").rfind("/bin/sleep", 0) == 0) {
        out.push_back(p);
      }
    }
    return out;
  }

  std::string dir_, ctl_;
  Paths paths_;
  std::unique_ptr<Rsyslog> syslog_;
};

TEST_F(CellctlSuperviseTest, DaemonisesWithItsTitleAndStopsEverything) {
  auto r = run(ctl_ + " supervise -t svctag svc /bin/sh -c 'echo hello; setsid sleep 1000 & exec sleep 1000'");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "cell 1\n");
  ASSERT_TRUE(syslog_->wait_for("svctag[", 5s));
  EXPECT_TRUE(syslog_->wait_for("cell=svc cid=1 stdout: hello", 5s));
  std::string pid_text = slurp(paths_.run_dir() + "/supervise/svc.pid");
  pid_t sup = pid_t(std::stol(pid_text));
  EXPECT_EQ(slurp("/proc/" + std::to_string(sup) + "/cmdline"),
            std::string("cellctl\0supervise\0cell=svc\0cid=1\0", 33));
  auto ps = run("ps -o args= -p " + std::to_string(sup));
  EXPECT_EQ(ps.out, "cellctl supervise cell=svc cid=1\n");
  // Not our child, not in our session: daemonised.
  EXPECT_NE(::getsid(sup), ::getsid(0));
  ASSERT_TRUE(wait_until([&] { return cell_procs().size() == 3; }, 5s));  // init + 2 sleeps

  // A second supervisor for the same cell is refused.
  auto again = run(ctl_ + " supervise svc /bin/sleep 1");
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.out.find("already supervised"), std::string::npos) << again.out;

  auto stop = run(ctl_ + " supervise --stop svc");
  EXPECT_EQ(stop.status, 0) << stop.out;
  // When --stop returns, the supervisor and every process but init are gone.
  // (It may linger as a zombie until whoever adopted it reaps it; it runs no more.)
  std::string st = slurp("/proc/" + std::to_string(sup) + "/stat");
  EXPECT_TRUE(st.empty() || st.substr(st.rfind(')') + 2, 1) == "Z") << st;
  auto left = cell_procs();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(slurp("/proc/" + std::to_string(left[0]) + "/cmdline").rfind("cellctl", 0), 0u);
}

// The supervise lock: while it is held (a supervisor is starting and has no pid file yet, as
// when the command that started it was killed) a second start is refused, and a stop waits
// for the pid file instead of reporting "no supervisor". Once free, a stop says none runs.
TEST_F(CellctlSuperviseTest, AStartingSupervisorIsNeitherStartedTwiceNorMissedByStop) {
  {
    auto held = kernel::lock_supervision(paths_, "svc");
    ASSERT_TRUE(held.ok()) << held.error().message();
    auto again = run(ctl_ + " supervise svc /bin/sleep 1");
    EXPECT_EQ(again.status, 1);
    EXPECT_NE(again.out.find("already supervised"), std::string::npos) << again.out;
    EXPECT_TRUE(sleepers().empty());
    auto waited = kernel::stop_supervisor(paths_, "svc", 300ms);
    ASSERT_FALSE(waited.ok());
    EXPECT_EQ(waited.error().kind(), ErrorKind::kBusy) << waited.error().message();
    EXPECT_NE(waited.error().message().find("is starting"), std::string::npos);
  }
  auto none = kernel::stop_supervisor(paths_, "svc", 300ms);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind(), ErrorKind::kNotFound) << none.error().message();

  // A supervisor holds the lock for its life: a stop that begins before its pid file exists
  // (here: right after the start returned) still finds and stops it.
  auto r = run(ctl_ + " supervise svc /bin/sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  auto busy = kernel::lock_supervision(paths_, "svc");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind(), ErrorKind::kBusy);
  auto stop = kernel::stop_supervisor(paths_, "svc", 10s);
  EXPECT_TRUE(stop.ok()) << stop.error().message();
  EXPECT_TRUE(wait_until([&] { return kernel::lock_supervision(paths_, "svc").ok(); }, 5s))
      << "the lock outlived its supervisor";
}

TEST_F(CellctlSuperviseTest, FailedServiceIsVisibleInStats) {
  auto r = run(ctl_ + " supervise --restart-budget 1/60s svc /bin/sh -c 'exit 1'");
  ASSERT_EQ(r.status, 0) << r.out;
  ASSERT_TRUE(syslog_->wait_for("cid=1 failed:", 10s));
  auto p = run(ctl_ + " stats -P");
  EXPECT_NE(p.out.find("cell_supervisor_failed{cid=\"1\",name=\"svc\""), std::string::npos);
  EXPECT_NE(p.out.find("cell_supervisor_failed{cid=\"1\",name=\"svc\",root=\"" + dir_ +
                       "/root\"} 1\n"),
            std::string::npos)
      << p.out;
  EXPECT_NE(p.out.find("cell_restarts_total{cid=\"1\",name=\"svc\",root=\"" + dir_ + "/root\"} 1\n"),
            std::string::npos);
  auto j = run(ctl_ + " stats --json");
  EXPECT_NE(j.out.find("\"state\":\"failed\""), std::string::npos) << j.out;
}

TEST_F(CellctlSuperviseTest, PolicyDenialsReachStats) {
  // A second cell owns a port; the supervised service of the first tries to bind it, which
  // the cgroup-BPF bind program refuses and counts.
  std::string other_root = dir_ + "/root2";
  fs::create_directories(other_root);
  auto c = run(ctl_ + " create -l low -r 19411 -n owner " + other_root);
  ASSERT_EQ(c.status, 0) << c.out;
  auto r = run(ctl_ + " supervise svc /bin/sh -c 'nc -l -p 19411; exec sleep 1000'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string want = "cell_denials_total{cid=\"1\",name=\"svc\",root=\"" + dir_ +
                     "/root\",kind=\"bind\"} ";
  std::string text;
  bool denied = wait_until([&] {
    text = run(ctl_ + " stats -P").out;
    size_t at = text.find(want);
    return at != std::string::npos && text[at + want.size()] != '0';
  }, 5s);
  EXPECT_TRUE(denied) << text;
  EXPECT_NE(text.find("cell_denials_total{cid=\"2\",name=\"owner\",root=\"" + other_root +
                      "\",kind=\"bind\"} 0\n"),
            std::string::npos);
  run(ctl_ + " supervise --stop svc");
  auto d = run(ctl_ + " destroy owner");
  EXPECT_EQ(d.status, 0) << d.out;
}

TEST_F(CellctlSuperviseTest, BadInputGivesOneLineErrorAndStartsNothing) {
  struct Case {
    std::string args, says;
  };
  for (const Case& c : std::vector<Case>{
           {"-f nosuch svc /bin/sleep 1", "unknown syslog facility 'nosuch'"},
           {"-o loud svc /bin/sleep 1", "unknown syslog level 'loud'"},
           {"-e 9 svc /bin/sleep 1", "unknown syslog level '9'"},
           {"-U 1000 svc /bin/sleep 1", "-U and -G must be given together"},
           {"-G 1000 svc /bin/sleep 1", "-U and -G must be given together"},
           {"-g 5 svc /bin/sleep 1", "-g requires -U and -G"},
           {"-U x -G 1 svc /bin/sleep 1", "-U 'x' is not a numeric id"},
           {"--rlimit files=3 svc /bin/sleep 1", "unknown limit 'files'"},
           {"--restart-budget 5 svc /bin/sleep 1", "restart budget '5'"},
           {"nosuchcell /bin/sleep 1", "nosuchcell"},
           {"svc", "no command given"},
           {"--health-cmd true --health-interval 5x svc /bin/sleep 1",
            "--health-interval '5x' is not a duration"},
           {"--health-cmd true --health-retries 0 svc /bin/sleep 1", "retries must be 1..100"},
           {"--health-cmd true --health-timeout 10s --health-interval 5s svc /bin/sleep 1",
            "is longer than its interval"},
           {"--health-timeout 5s svc /bin/sleep 1", "need --health-cmd"},
           {"--reload-signal KILL svc /bin/sleep 1", "--reload-signal: unknown signal 'KILL'"},
           {"--stop --reload svc", "--stop and --reload exclude each other"},
           {"--reload svc /bin/sleep 1", "--reload takes only the cell, no command"},
       }) {
    auto r = run(ctl_ + " supervise " + c.args);
    EXPECT_NE(r.status, 0) << c.args;
    EXPECT_EQ(r.out.rfind("cellctl: ", 0), 0u) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << " -> " << r.out;
    EXPECT_FALSE(fs::exists(paths_.run_dir() + "/supervise/svc.pid")) << c.args;
    EXPECT_EQ(cell_procs().size(), 1u) << c.args;  // init only
  }
  for (const char* request : {"--stop", "--reload"}) {
    auto s = run(ctl_ + " supervise " + request + " svc");
    EXPECT_EQ(s.status, 1) << request;
    EXPECT_NE(s.out.find("no supervisor runs for cell svc"), std::string::npos) << s.out;
  }
}

// --reload: the supervisor relays the cell's reload signal to the running service, which
// handles it and keeps running; a cell without one logs the request and changes nothing.
TEST_F(CellctlSuperviseTest, ReloadRelaysTheReloadSignalToTheService) {
  auto r = run(ctl_ + " supervise --reload-signal hup svc /bin/sh -c "
                      "'trap \"echo reloaded-by-hup\" HUP; echo ready; while :; do sleep 0.1; done'");
  ASSERT_EQ(r.status, 0) << r.out;
  // The trap is set before "ready": a reload earlier would find the shell's default action.
  ASSERT_TRUE(syslog_->wait_for("stdout: ready", 5s));
  auto reload = run(ctl_ + " supervise --reload svc");
  ASSERT_EQ(reload.status, 0) << reload.out;
  EXPECT_TRUE(syslog_->wait_for("reload: sent SIGHUP to the service", 5s));
  EXPECT_TRUE(syslog_->wait_for("stdout: reloaded-by-hup", 5s));
  EXPECT_FALSE(syslog_->wait_for("exited status", 500ms)) << "the service must keep running";

  ASSERT_EQ(run(ctl_ + " supervise --stop svc").status, 0);
  ASSERT_EQ(run(ctl_ + " supervise svc /bin/sleep 1000").status, 0);
  ASSERT_TRUE(wait_until([&] { return sleepers().size() == 1; }, 5s));
  pid_t before = sleepers()[0];
  ASSERT_EQ(run(ctl_ + " supervise --reload svc").status, 0);
  EXPECT_TRUE(syslog_->wait_for("reload requested but the cell has no reload signal; ignored", 5s));
  EXPECT_EQ(sleepers(), std::vector<pid_t>{before});
}

TEST_F(CellctlSuperviseTest, StatsFlagRulesAndFormats) {
  for (const char* bad : {"-T -P", "-T -v", "-H", "-h", "-P -v", "--json -T"}) {
    auto r = run(ctl_ + " stats " + bad);
    EXPECT_NE(r.status, 0) << bad;
    EXPECT_EQ(r.out.rfind("cellctl: ", 0), 0u) << bad << " -> " << r.out;
  }
  ASSERT_TRUE(wait_until([&] { return run(ctl_ + " stats -T -H").out.find("svc") != std::string::npos; },
                         3s));
  auto t = run(ctl_ + " stats");
  EXPECT_EQ(t.out.rfind("ID  NAME  CPU1S  CPU10S  PROC  AGE  MEMORY\n1   svc   ", 0), 0u) << t.out;
  auto h = run(ctl_ + " stats -P -h");
  EXPECT_EQ(h.out.rfind("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 0), 0u);
}

TEST_F(CellctlSuperviseTest, ListenServesMetrics) {
  ASSERT_TRUE(wait_until([&] { return run(ctl_ + " stats -T -H").out.find("svc") != std::string::npos; },
                         3s));
  pid_t server = ::fork();
  if (server == 0) {
    std::string cmd = ctl_ + " stats -P --listen 127.0.0.1:19377";
    ::execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), nullptr);
    ::_exit(127);
  }
  RunResult r;
  wait_until([&] {
    r = run("curl -fsS http://127.0.0.1:19377/metrics");
    return r.status == 0;
  }, 5s);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("cell_processes_current{cid=\"1\",name=\"svc\""), std::string::npos) << r.out;
  auto nf = run("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19377/other");
  EXPECT_EQ(nf.out, "404");
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
}

TEST_F(CellctlSuperviseTest, ExecCanSignalTheSupervisedService) {
  auto r = run(ctl_ + " supervise svc /bin/sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<pid_t> service;
  ASSERT_TRUE(wait_until([&] { return (service = sleepers()).size() == 1; }, 5s));
  // The service's pid as the cell sees it: the last NSpid field.
  std::string status = slurp("/proc/" + std::to_string(service[0]) + "/status");
  size_t at = status.find("NSpid:");
  ASSERT_NE(at, std::string::npos);
  std::string line = status.substr(at, status.find('\n', at) - at);
  std::string inner = line.substr(line.find_last_of(" \t") + 1);
  // Same cell, same Landlock domain: the operator's shell may signal the service.
  auto k = run(ctl_ + " exec svc sh -c 'kill -TERM " + inner + "'");
  EXPECT_EQ(k.status, 0) << k.out;
  EXPECT_TRUE(syslog_->wait_for("cid=1 killed by signal=15", 5s));
}

TEST_F(CellctlSuperviseTest, ListShowsTheSupervisionState) {
  auto state_of_svc = [&] {
    std::string out = run(ctl_ + " list").out;
    std::istringstream in(out);
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    // ID NAME REFS PROCS AGE STATE ...: the sixth column.
    std::istringstream cols(row);
    std::string col;
    for (int i = 0; i < 6; ++i) cols >> col;
    return col;
  };
  EXPECT_EQ(state_of_svc(), "-");
  auto r = run(ctl_ + " supervise svc /bin/sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(wait_until([&] { return state_of_svc() == "running"; }, 5s));
  EXPECT_NE(run(ctl_ + " list --json").out.find("\"state\": \"running\""), std::string::npos);
  // -T keeps the reference's columns.
  EXPECT_EQ(run(ctl_ + " list -T").out.rfind("CID\tNAME\tREFS\tPROCS\tAGE\tROOT\tNOFILE\tAS\tCORE\n", 0),
            0u);
  // No healthcheck: health is unknown, NaN in the metrics.
  EXPECT_NE(run(ctl_ + " stats -P").out.find("cell_health_up{cid=\"1\",name=\"svc\",root=\"" +
                                             dir_ + "/root\"} NaN\n"),
            std::string::npos);
  ASSERT_EQ(run(ctl_ + " supervise --stop svc").status, 0);
  EXPECT_EQ(state_of_svc(), "stopped");
}

TEST_F(CellctlSuperviseTest, FailingHealthcheckMarksTheCellDownAndRestartsIt) {
  std::string marker = dir_ + "/root/healthy";
  { std::ofstream(marker) << "ok\n"; }
  auto r = run(ctl_ + " supervise --health-cmd '[ -f /healthy ]' --health-timeout 150ms "
                      "--health-interval 200ms --health-retries 2 svc /bin/sleep 1000");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string labels = "{cid=\"1\",name=\"svc\",root=\"" + dir_ + "/root\"} ";
  std::string text;
  ASSERT_TRUE(wait_until([&] {
    text = run(ctl_ + " stats -P").out;
    return text.find("cell_health_up" + labels + "1\n") != std::string::npos;
  }, 5s)) << text;
  EXPECT_NE(text.find("cell_restarts_total" + labels + "0\n"), std::string::npos) << text;
  EXPECT_NE(run(ctl_ + " stats --json").out.find("\"health\":\"up\""), std::string::npos);
  auto before = sleepers();

  fs::remove(marker);
  EXPECT_TRUE(wait_until([&] {
    text = run(ctl_ + " stats -P").out;
    return text.find("cell_health_up" + labels + "0\n") != std::string::npos &&
           text.find("cell_restarts_total" + labels + "1\n") != std::string::npos;
  }, 5s)) << text;
  EXPECT_TRUE(syslog_->wait_for("unhealthy after 2 failed healthchecks", 5s));
  EXPECT_NE(run(ctl_ + " stats --json").out.find("\"health\":\"down\""), std::string::npos);
  // The service was really restarted: a new sleep replaced the old one.
  { std::ofstream(marker) << "ok\n"; }
  EXPECT_TRUE(wait_until([&] {
    text = run(ctl_ + " stats -P").out;
    return text.find("cell_health_up" + labels + "1\n") != std::string::npos;
  }, 10s)) << text;
  auto after = sleepers();
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(before, after);
}

}  // namespace
}  // namespace cells::testing
