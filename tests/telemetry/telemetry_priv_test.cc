// Privileged telemetry tests on real cells: the instance's sampler (kernel/instance_sampler.h)
// samples every cell once per second into the snapshot file (kernel/telemetry.h), and
// `cellctl stats` formats what it reads.
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "base/paths.h"
#include "kernel/bpf_policy.h"
#include "kernel/cell.h"
#include "kernel/instance_sampler.h"
#include "kernel/seed_ns.h"
#include "kernel/telemetry.h"
#include "kernel/telemetry_format.h"

namespace cells::kernel {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TelemetryCellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-telemetry-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = *Paths::from_root(dir_ + "/install");
    auto rt = Runtime::open(*paths_);
    ASSERT_TRUE(rt.ok()) << rt.error().message();
    runtime_.emplace(std::move(rt).value());
    std::string root = dir_ + "/root";
    for (const char* d : {"/bin", "/proc", "/dev", "/tmp", "/var", "/run", "/etc"}) {
      fs::create_directories(root + d);
    }
    fs::copy_file("/bin/busybox", root + "/bin/busybox");
    for (const char* app : {"sh", "sleep"}) fs::create_symlink("busybox", root + "/bin/" + app);
    CellSpec spec;
    spec.name = "tele";
    spec.cid = 41;
    spec.root = root;
    spec.profile = Profile::kLow;
    auto cell = runtime_->create(spec);
    ASSERT_TRUE(cell.ok()) << cell.error().message();
    cell_ = *cell;
  }
  void TearDown() override {
    // Our spawned processes are our children (CLONE_PARENT) even inside the cell: they must be
    // reaped before destroy, because a dying cell init waits until every process of its PID
    // namespace has been reaped, and destroy waits for init.
    for (auto& c : children_) {
      ::syscall(SYS_pidfd_send_signal, c.pidfd.get(), SIGKILL, nullptr, 0);
      ::waitpid(c.pid, nullptr, 0);
    }
    if (runtime_ && cell_.cid) {
      auto st = runtime_->destroy("tele", true);
      EXPECT_TRUE(st.ok()) << st.error().message();
    }
    // Creating the cell loaded this scratch instance's cgroup-BPF programs; they go too.
    if (paths_) {
      auto st = BpfPolicy::unload(*paths_);
      EXPECT_TRUE(st.ok()) << st.error().message();
      auto seed = release_seed_mount_ns(*paths_);  // and the seed its namespace came from
      EXPECT_TRUE(seed.ok()) << seed.error().message();
    }
    fs::remove_all(dir_);
  }

  void spawn(std::vector<std::string> argv) {
    SpawnOptions o;
    o.argv = std::move(argv);
    auto c = runtime_->spawn(cell_, o);
    ASSERT_TRUE(c.ok()) << c.error().message();
    children_.push_back(std::move(c).value());
  }
  // The next sample published after now.
  CellStats next_sample() {
    int64_t after = 0;
    if (auto cur = current(); cur) after = cur->sampled_unix_ns;
    for (int i = 0; i < 300; ++i) {
      auto c = current();
      if (c && c->sampled_unix_ns > after) return *c;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << "no new sample within 3 s";
    return {};
  }
  // Pids of the cells-sampler processes of this test's installation.
  std::vector<pid_t> samplers() const {
    std::vector<pid_t> out;
    const std::string want = std::string("--root") + '\0' + paths_->root + '\0';
    for (const auto& e : fs::directory_iterator("/proc")) {
      const std::string pid = e.path().filename();
      if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream in(e.path() / "cmdline");
      std::string cmd((std::istreambuf_iterator<char>(in)), {});
      if (cmd.rfind("cells-sampler", 0) == 0 && cmd.find(want) != std::string::npos) {
        out.push_back(pid_t(std::stol(pid)));
      }
    }
    return out;
  }
  bool wait_for_samplers(size_t n) const {
    for (int i = 0; i < 300; ++i) {
      if (samplers().size() == n) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  std::optional<CellStats> current() {
    auto all = SnapshotFile::read_all(*paths_);
    EXPECT_TRUE(all.ok()) << all.error().message();
    for (auto& c : *all) {
      if (c.cid == 41) return c;
    }
    return std::nullopt;
  }

  std::string dir_;
  std::optional<Paths> paths_;
  std::optional<Runtime> runtime_;
  CellInfo cell_;
  std::vector<Child> children_;
};

TEST_F(TelemetryCellTest, IdentityAndAgeFromTheFirstSecond) {
  auto first = next_sample();
  EXPECT_EQ(first.name, "tele");
  EXPECT_EQ(first.root, dir_ + "/root");
  EXPECT_EQ(first.created_unix_ns, cell_.created_unix_ns);
  EXPECT_EQ(first.processes, 1u);  // init alone
  EXPECT_EQ(first.references, 1u);
  EXPECT_GT(first.vmsize_bytes, 0u);
  EXPECT_GT(first.rss_bytes, 0u);
  std::this_thread::sleep_for(2s);
  auto later = next_sample();
  int64_t now = later.sampled_unix_ns;
  EXPECT_GE(later.age_seconds(now), 2);
  EXPECT_GT(later.age_seconds(now), first.age_seconds(first.sampled_unix_ns));
}

TEST_F(TelemetryCellTest, ProcessesAndReferencesFollowForksAndZombies) {
  next_sample();
  // Two long sleepers under one shell: 3 processes more.
  spawn({"/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait"});
  CellStats s;
  for (int i = 0; i < 5 && s.processes != 4; ++i) s = next_sample();
  EXPECT_EQ(s.processes, 4u);
  EXPECT_EQ(s.references, 4u);
  // A parent that never reaps its exited child: one zombie, counted as a reference only.
  spawn({"/bin/sh", "-c", "sleep 0 & exec sleep 1000"});
  for (int i = 0; i < 5 && s.references != 6; ++i) s = next_sample();
  EXPECT_EQ(s.processes, 5u);
  EXPECT_EQ(s.references, 6u);
  // Killing the forked shell and its children brings the counts back.
  ::syscall(SYS_pidfd_send_signal, children_[0].pidfd.get(), SIGKILL, nullptr, 0);
  ::waitpid(children_[0].pid, nullptr, 0);
  for (int i = 0; i < 5 && s.processes != 4; ++i) s = next_sample();
  // The two sleepers were re-parented to init, which does not kill them: 5 -> 4.
  EXPECT_EQ(s.processes, 4u);
  EXPECT_EQ(s.references, 5u);
}

TEST_F(TelemetryCellTest, BusyLoopShowsAlmostOneCoreAndTheAverageConverges) {
  spawn({"/bin/sh", "-c", "while :; do :; done"});
  // Highest priority, set from the host (the cell may not raise it), so the other jobs on
  // this shared 2-core machine cannot starve the loop.
  ASSERT_EQ(::setpriority(PRIO_PROCESS, id_t(children_.back().pid), -20), 0);
  // An independent measure of the same CPU time: the loop's own utime + stime (clock ticks,
  // 1/100 s here) read from the host's /proc.
  auto host_ticks = [pid = children_.back().pid] {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), {});
    std::istringstream f(all.substr(all.rfind(')') + 2));
    std::string field;
    uint64_t utime = 0, stime = 0;
    for (int i = 3; i < 14; ++i) f >> field;
    f >> utime >> stime;
    return utime + stime;
  };
  ASSERT_EQ(::sysconf(_SC_CLK_TCK), 100);
  next_sample();
  next_sample();  // from here on every second is a full second of the loop
  uint64_t host_before = host_ticks();
  std::vector<uint32_t> ticks;
  CellStats s;
  for (int i = 0; i < 10; ++i) {
    s = next_sample();
    ticks.push_back(s.cpu_ticks_1s);
  }
  uint64_t host_used = host_ticks() - host_before;
  uint64_t sampled = 0;
  for (uint32_t t : ticks) {
    EXPECT_LE(t, 101u);
    sampled += t;
  }
  // The sampler's seconds and the host's view of the loop agree (the windows differ by the
  // few ms between a sample and our reading of it).
  EXPECT_NEAR(double(sampled), double(host_used), 6.0) << "over 10 s";
  // On a machine that gives the loop its core, that is 80..100 ticks every second. This
  // shared 2-vCPU VM is often contended (a host busy loop at nice -20 got about 2/3 of a core
  // while other builds ran), so the absolute range is checked only when the host measure
  // shows the loop had the core, and on the median second (one second in which another
  // process took the core for a while is the scheduler's doing, not the sampler's: CI saw a
  // 66 next to nine seconds of 90+).
  if (host_used >= 850) {
    std::vector<uint32_t> sorted = ticks;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_GE(sorted[sorted.size() / 2], 80u) << "median of the ten seconds";
  } else {
    std::printf("note: the loop got %.1f ticks/s (machine contended); absolute range skipped\n",
                host_used / 10.0);
    EXPECT_GE(sampled, 200u) << "the loop hardly ran at all";
  }
  // The 10 s average is exactly the mean of the last ten one-second values.
  double mean = double(sampled) / 10;
  EXPECT_NEAR(s.cpu_ticks_10s_avg, mean, 0.51);
}

TEST_F(TelemetryCellTest, PrometheusOutputPassesPromtool) {
  next_sample();
  auto all = SnapshotFile::read_all(*paths_);
  ASSERT_TRUE(all.ok());
  StatsOutput out{StatsFormat::kPrometheus};
  std::string text = format_stats(*all, out, all->at(0).sampled_unix_ns);
  std::string file = dir_ + "/metrics.txt";
  std::ofstream(file) << text;
  std::string cmd = "promtool check metrics < " + file + " > " + dir_ + "/promtool.out 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(dir_ + "/promtool.out");
  std::string report((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(rc, 0) << report << "\n" << text;
  EXPECT_NE(text.find("cell_processes_current{cid=\"41\",name=\"tele\",root=\"" + dir_ +
                      "/root\"} 1\n"),
            std::string::npos)
      << text;
}

TEST_F(TelemetryCellTest, OneSamplerPerInstanceComesBackAfterAKill) {
  // create started it: its lock is held, so nobody starts a second one.
  ASSERT_TRUE(wait_for_samplers(1));
  auto again = ensure_sampler(*paths_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_FALSE(*again);
  EXPECT_EQ(samplers().size(), 1u);
  next_sample();

  // Killed, nothing samples the cell any more...
  pid_t old = samplers().at(0);
  ASSERT_EQ(::kill(old, SIGKILL), 0);
  ASSERT_TRUE(wait_for_samplers(0));
  int64_t last = current()->sampled_unix_ns;
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(current()->sampled_unix_ns, last);
  // ...until the next create or supervisor start brings it back.
  auto started = ensure_sampler(*paths_);
  ASSERT_TRUE(started.ok()) << started.error().message();
  EXPECT_TRUE(*started);
  ASSERT_TRUE(wait_for_samplers(1));
  EXPECT_NE(samplers().at(0), old);
  EXPECT_GT(next_sample().sampled_unix_ns, last);
}

TEST_F(TelemetryCellTest, SamplerFollowsCellsAndExitsWithTheLast) {
  ASSERT_TRUE(wait_for_samplers(1));
  // The same rounds, in this process: one live cell, sampled from its own procfs.
  auto in_process = InstanceSampler::open(*paths_);
  ASSERT_TRUE(in_process.ok()) << in_process.error().message();
  auto live = in_process->tick();
  ASSERT_TRUE(live.ok()) << live.error().message();
  EXPECT_EQ(*live, 1u);
  EXPECT_EQ(in_process->tracked(), 1u);

  auto st = runtime_->destroy("tele", true);
  ASSERT_TRUE(st.ok()) << st.error().message();
  cell_ = {};
  live = in_process->tick();
  ASSERT_TRUE(live.ok()) << live.error().message();
  EXPECT_EQ(*live, 0u);
  EXPECT_EQ(in_process->tracked(), 0u);
  // The destroyed cell is not published again, and the sampler leaves with its last cell.
  EXPECT_TRUE(SnapshotFile::read_all(*paths_)->empty());
  EXPECT_TRUE(wait_for_samplers(0)) << "the sampler outlived the last cell";
  EXPECT_TRUE(SnapshotFile::read_all(*paths_)->empty());
}

TEST_F(TelemetryCellTest, SamplerRaisesTheDescriptorLimitItInherits) {
  // Three descriptors per cell: started from a shell with the usual soft limit of 1,024, a
  // sampler that kept it would stop taking on cells at about 340.
  ASSERT_TRUE(wait_for_samplers(1));
  auto stopped = stop_sampler(*paths_);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message();
  EXPECT_TRUE(*stopped);
  EXPECT_TRUE(samplers().empty());
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_GT(saved.rlim_max, 1024u) << "this check needs a hard limit above 1,024";
  rlimit low = saved;
  low.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto started = ensure_sampler(*paths_);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  ASSERT_TRUE(started.ok()) << started.error().message();
  ASSERT_TRUE(wait_for_samplers(1));
  next_sample();  // it has run its first round, past the raise
  std::ifstream limits("/proc/" + std::to_string(samplers().at(0)) + "/limits");
  std::string line, soft, hard;
  while (std::getline(limits, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream(line.substr(std::string("Max open files").size())) >> soft >> hard;
  }
  EXPECT_EQ(soft, std::to_string(saved.rlim_max));
  EXPECT_EQ(hard, std::to_string(saved.rlim_max));
}

TEST_F(TelemetryCellTest, AStopRightAfterAStartStopsTheNewSampler) {
  // A new sampler holds its lock from before its exec but writes its pid only after it, so a
  // stop that comes at once can find the lock held and no pid yet (a CI run saw the stop give
  // up on "pid 0" and leave the sampler running).
  ASSERT_TRUE(wait_for_samplers(1));
  for (int round = 0; round < 10; ++round) {
    auto stopped = stop_sampler(*paths_);
    ASSERT_TRUE(stopped.ok()) << "round " << round << ": " << stopped.error().message();
    EXPECT_TRUE(*stopped) << "round " << round;
    EXPECT_TRUE(samplers().empty()) << "round " << round;
    auto started = ensure_sampler(*paths_);
    ASSERT_TRUE(started.ok()) << started.error().message();
    EXPECT_TRUE(*started) << "round " << round;
  }
  ASSERT_TRUE(wait_for_samplers(1));
}

TEST_F(TelemetryCellTest, ASlotWithoutCellOrCgroupIsCleared) {
  // What a destroy killed between removing the cgroup and clearing the slot leaves behind.
  ASSERT_TRUE(wait_for_samplers(1));
  auto file = SnapshotFile::open_rw(*paths_);
  ASSERT_TRUE(file.ok()) << file.error().message();
  ASSERT_TRUE(file->publish_identity(77, "gone", "/nowhere", 1).ok());
  auto listed = [&] {
    auto all = SnapshotFile::read_all(*paths_);
    EXPECT_TRUE(all.ok()) << all.error().message();
    return all.ok() && std::any_of(all->begin(), all->end(),
                                   [](const CellStats& c) { return c.cid == 77; });
  };
  EXPECT_TRUE(listed());
  for (int i = 0; i < 300 && listed(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(listed()) << "the sampler left the slot of a cell without a cgroup";
  // The live cell is still sampled.
  EXPECT_EQ(next_sample().name, "tele");
}

}  // namespace
}  // namespace cells::kernel
