#include "kernel/telemetry.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/files.h"

namespace cells::kernel {
namespace {

namespace fs = std::filesystem;

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-telemetry-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = *Paths::from_root(dir_ + "/root");
    fs::create_directories(dir_ + "/cg");
    fs::create_directories(dir_ + "/proc");
    set_usage(1'000'000);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void set_usage(uint64_t usec) {
    std::ofstream(dir_ + "/cg/cpu.stat") << "usage_usec " << usec << "\nuser_usec 1\n";
  }
  // A fake /proc/<pid>/stat with a command name that contains ") (" to check the parser.
  void add_proc(int pid, char state, uint64_t vsize, uint64_t rss_pages) {
    fs::create_directories(dir_ + "/proc/" + std::to_string(pid));
    std::ofstream(dir_ + "/proc/" + std::to_string(pid) + "/stat")
        << pid << " (a) (b c) " << state
        << " 1 1 1 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 12345 " << vsize << " " << rss_pages
        << " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  }
  CellSampler open_sampler(uint32_t cid = 3) {
    Fd cg(::open((dir_ + "/cg").c_str(), O_RDONLY | O_DIRECTORY));
    Fd proc(::open((dir_ + "/proc").c_str(), O_RDONLY | O_DIRECTORY));
    auto s = CellSampler::open(paths_, cg.get(), proc.get(), {cid, "web", "/srv/web", 42});
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message());
    return std::move(s).value();
  }

  std::string dir_;
  Paths paths_;
};

TEST_F(TelemetryTest, CountsProcessesZombiesAndMemory) {
  add_proc(1, 'S', 4096000, 10);
  add_proc(7, 'R', 1000, 2);
  add_proc(9, 'Z', 0, 0);
  auto s = open_sampler();
  ASSERT_TRUE(s.tick().ok());
  EXPECT_EQ(s.last().processes, 2u);
  EXPECT_EQ(s.last().references, 3u);
  EXPECT_EQ(s.last().vmsize_bytes, 4097000u);
  EXPECT_EQ(s.last().rss_bytes, 12u * uint64_t(::sysconf(_SC_PAGESIZE)));
}

TEST_F(TelemetryTest, CpuTicksFromUsageWithRollingAverage) {
  auto s = open_sampler();
  ASSERT_TRUE(s.tick().ok());  // baseline
  EXPECT_EQ(s.last().cpu_ticks_1s, 0u);
  set_usage(1'000'000 + 905'000);  // 90.5 ticks
  ASSERT_TRUE(s.tick().ok());
  EXPECT_EQ(s.last().cpu_ticks_1s, 90u);
  set_usage(1'000'000 + 905'000 + 105'000);  // 10.5 + carried 0.5 = 11
  ASSERT_TRUE(s.tick().ok());
  EXPECT_EQ(s.last().cpu_ticks_1s, 11u);
  EXPECT_DOUBLE_EQ(s.last().cpu_ticks_10s_avg, 50.5);
  // Eleven more idle seconds push both busy seconds out of the 10-slot window.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s.tick().ok());
  EXPECT_DOUBLE_EQ(s.last().cpu_ticks_10s_avg, 0.0);
}

TEST_F(TelemetryTest, SnapshotRoundTripsEveryPart) {
  add_proc(1, 'S', 100, 1);
  auto s = open_sampler(5);
  ASSERT_TRUE(s.tick().ok());
  auto w = SnapshotFile::open_rw(paths_);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(w->write_supervision(5, SuperviseState::kFailed, 7, 1234, Health::kUnknown).ok());
  // A supervision part alone (cell 2 never sampled) is not listed.
  ASSERT_TRUE(w->write_supervision(2, SuperviseState::kRunning, 0, 99, Health::kUnknown).ok());
  // A supervisor of the first layout published denials in its own part (at 896 + 32 in the
  // slot); they count while the slot has no denial part.
  uint64_t old_bind = 4;
  const off_t old_denials = 64 + 4 * 1024 + 896 + 32;
  ASSERT_EQ(::pwrite(w->fd(), &old_bind, sizeof old_bind, old_denials), 8);

  auto all = SnapshotFile::read_all(paths_);
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), 1u);
  const CellStats& c = (*all)[0];
  EXPECT_EQ(c.cid, 5u);
  EXPECT_EQ(c.name, "web");
  EXPECT_EQ(c.root, "/srv/web");
  EXPECT_EQ(c.created_unix_ns, 42);
  EXPECT_EQ(c.processes, 1u);
  EXPECT_EQ(c.denials[0], 4u);
  EXPECT_EQ(c.state, SuperviseState::kFailed);
  EXPECT_EQ(c.restarts, 7u);
  EXPECT_EQ(c.supervisor_pid, 1234);
  EXPECT_EQ(to_string(c.health), "unknown");

  // The sampler's denial part wins over the old field.
  CellStats d = c;
  d.denials[0] = 0;
  d.denials[3] = 9;
  ASSERT_TRUE(w->write_denials(d).ok());
  all = SnapshotFile::read_all(paths_);
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_EQ((*all)[0].denials[0], 0u);
  EXPECT_EQ((*all)[0].denials[3], 9u);
  EXPECT_EQ((*all)[0].state, SuperviseState::kFailed);

  ASSERT_TRUE(w->clear(5).ok());
  EXPECT_TRUE(SnapshotFile::read_all(paths_)->empty());
}

TEST_F(TelemetryTest, MissingSnapshotMeansNoCells) {
  auto all = SnapshotFile::read_all(paths_);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
}

TEST_F(TelemetryTest, TornSlotIsDetected) {
  auto s = open_sampler(1);
  ASSERT_TRUE(s.tick().ok());
  std::string image = *read_file(SnapshotFile::path(paths_));
  ASSERT_TRUE(SnapshotFile::decode(image).ok());
  image[64 + 8 + 4] ^= 1;  // sample half data changes...
  image[64] ^= 1;          // ...and its leading sequence number no longer matches the trailing one
  auto r = SnapshotFile::decode(image);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kBusy);
}

TEST_F(TelemetryTest, RejectsForeignFilesAndBadCids) {
  ASSERT_TRUE(make_dirs(paths_.run_dir() + "/telemetry").ok());
  ASSERT_TRUE(write_file_atomic(SnapshotFile::path(paths_), std::string(64, 'x')).ok());
  auto r = SnapshotFile::read_all(paths_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_FALSE(SnapshotFile::open_rw(paths_).ok());
  fs::remove(SnapshotFile::path(paths_));
  auto w = SnapshotFile::open_rw(paths_);
  ASSERT_TRUE(w.ok());
  auto bad = w->write_supervision(0, SuperviseState::kRunning, 0, 1, Health::kUnknown);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalid);
}

TEST(CellStats, AgeInWholeSeconds) {
  CellStats c;
  c.created_unix_ns = 1'000'000'000;
  EXPECT_EQ(c.age_seconds(3'500'000'000), 2);
  EXPECT_EQ(c.age_seconds(500), 0);
}

}  // namespace
}  // namespace cells::kernel

namespace cells::kernel {
namespace {

TEST_F(TelemetryTest, UnpublishedSamplerOnlySamples) {
  add_proc(1, 'S', 10, 1);
  Fd cg(::open((dir_ + "/cg").c_str(), O_RDONLY | O_DIRECTORY));
  Fd proc(::open((dir_ + "/proc").c_str(), O_RDONLY | O_DIRECTORY));
  auto s = CellSampler::open_unpublished(cg.get(), proc.get(), {4, "db", "/srv/db", 777});
  ASSERT_TRUE(s.ok()) << s.error().message();
  // The instance sampler publishes; this sampler has no file to publish to.
  auto t = s->tick();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind(), ErrorKind::kInvalid);
  ASSERT_TRUE(s->sample().ok());
  EXPECT_EQ(s->last().name, "db");
  EXPECT_EQ(s->last().processes, 1u);
  EXPECT_NE(s->last().sampled_unix_ns, 0);
  EXPECT_TRUE(SnapshotFile::read_all(paths_)->empty());
  // The cell is gone once its cgroup directory is.
  EXPECT_TRUE(s->still_exists());
  fs::remove_all(dir_ + "/cg");
  EXPECT_FALSE(s->still_exists());
}

}  // namespace
}  // namespace cells::kernel
