// Crash safety: the driver is SIGKILLed at random moments of a backup and of a restore (60
// each). After every kill: no archive that looks complete is damaged, the restore target holds
// exactly the old or exactly the new tree, and the next call (recover) removes every leftover.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "backup/backup.h"
#include "tests/backup/harness.h"

namespace cells::backup {
namespace {

namespace fs = std::filesystem;
using testing::ScratchRoot;
using testing::snapshot;

constexpr int kKills = 60;

// A tree whose backup takes long enough (a few hundred ms) for kills to land in every phase.
void make_tree(const std::string& dir, uint32_t seed) {
  std::mt19937 rng(seed);
  for (int d = 0; d < 8; ++d) {
    std::string sub = dir + "/d" + std::to_string(d);
    fs::create_directories(sub);
    for (int f = 0; f < 40; ++f) {
      std::string data(16 * 1024 + rng() % 4096, '\0');
      for (auto& c : data) c = static_cast<char>(rng() % 64);  // compressible, not trivially
      testing::write_text(sub + "/f" + std::to_string(f), data);
    }
  }
  std::string big(24 << 20, '\0');
  for (size_t i = 0; i < big.size(); i += 8) big[i] = static_cast<char>(rng());
  testing::write_text(dir + "/big", big);
}

struct Child {
  pid_t pid = -1;
};

Child spawn(const std::vector<std::string>& argv) {
  Child c;
  c.pid = ::fork();
  if (c.pid == 0) {
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return c;
}

// Kills C after DELAY; returns true when the kill landed on a running process.
bool kill_after(Child c, std::chrono::microseconds delay) {
  std::this_thread::sleep_for(delay);
  ::kill(c.pid, SIGKILL);
  int st = 0;
  ::waitpid(c.pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

std::chrono::microseconds timed_run(const std::vector<std::string>& argv) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = testing::run(argv);
  EXPECT_EQ(r.status, 0) << r.out;
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                               t0);
}

// The shortest of three runs. Kill points are spread over it: the first run pays for cold
// caches (and under ASan for much more), so points spread over it alone mostly fell after the
// later, faster runs had ended (9 of 60 landed in the sanitizer build).
std::chrono::microseconds fastest_run(const std::vector<std::string>& argv) {
  auto best = timed_run(argv);
  for (int i = 0; i < 2; ++i) best = std::min(best, timed_run(argv));
  return best;
}

class Crash : public ::testing::Test {
 protected:
  void SetUp() override { paths_ = *Paths::from_root(root_.path); }
  std::vector<std::string> files_in(const std::string& dir) {
    std::vector<std::string> out;
    if (!fs::exists(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
  }
  // Operations the journal shows unfinished: recovery closes every killed one, so that it is
  // handled once (a Backups must not be open: one LMDB environment per process).
  size_t unfinished() {
    auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
    if (!st) return 0;
    auto open = st->incomplete_operations();
    return open ? open->size() : 1;
  }
  ScratchRoot root_;
  Paths paths_;
  std::mt19937 rng_{12345};
};

TEST_F(Crash, BackupKilledAtRandomMoments) {
  make_tree(root_ / "src", 1);
  std::vector<std::string> argv = {BACKUP_DRIVER, root_.path, "create",
                                   "volume",      "data",     root_ / "src"};
  auto full = fastest_run(argv);
  std::string dir = paths_.backups_dir() + "/volumes";
  int landed = 0;
  for (int i = 0; i < kKills; ++i) {
    std::uniform_int_distribution<int64_t> when(0, full.count());
    if (kill_after(spawn(argv), std::chrono::microseconds(when(rng_)))) ++landed;

    // Before any cleanup: whatever carries the final name must be a complete archive.
    for (const auto& f : files_in(dir)) {
      if (f.ends_with(".partial")) continue;
      ReadOptions ro;
      auto scan = scan_archive(dir + "/" + f, ro);
      ASSERT_TRUE(scan.ok()) << "kill " << i << ": " << f
                             << " looks complete but is not: " << scan.error().message();
    }
    // The next call cleans up, and every archive it lists verifies against its record.
    {
      auto b = Backups::open(paths_);
      ASSERT_TRUE(b.ok()) << b.error().message();
      auto rec = b->recover();
      ASSERT_TRUE(rec.ok()) << rec.error().message();
      for (const auto& f : files_in(dir)) EXPECT_FALSE(f.ends_with(".partial")) << f;
      auto list = b->list(Kind::kVolume, "data");
      ASSERT_TRUE(list.ok());
      for (const auto& a : *list) {
        auto v = b->verify(Kind::kVolume, a.name.file());
        ASSERT_TRUE(v.ok()) << "kill " << i << ": " << v.error().message();
        ASSERT_TRUE(b->remove(Kind::kVolume, a.name.file()).ok());
      }
    }
    ASSERT_EQ(unfinished(), 0u) << "kill " << i << ": recovery left the killed backup open";
  }
  std::printf("backup: %d of %d kills landed during the run (full run %lld us)\n", landed, kKills,
              static_cast<long long>(full.count()));
  // Kill points are spread over the fastest timed run; under CI load runs still vary, so only
  // a quarter must land (35 of 60 landed with both cores busy).
  EXPECT_GE(landed, kKills / 4);
}

TEST_F(Crash, RestoreKilledAtRandomMoments) {
  make_tree(root_ / "old", 2);
  make_tree(root_ / "new", 3);
  fs::remove(root_ / "new/d3/f7");
  testing::write_text(root_ / "new/only-in-new", "new");
  std::string old_file, new_file;
  {
    auto b = Backups::open(paths_);
    ASSERT_TRUE(b.ok());
    auto a = b->create(Kind::kVolume, "data", root_ / "old", {});
    auto n = b->create(Kind::kVolume, "data", root_ / "new", {});
    ASSERT_TRUE(a.ok() && n.ok());
    old_file = a->record.file;
    new_file = n->record.file;
  }
  auto old_snap = snapshot(root_ / "old");
  auto new_snap = snapshot(root_ / "new");
  std::string target = root_ / "target";
  auto restore_argv = [&](const std::string& file) {
    return std::vector<std::string>{BACKUP_DRIVER, root_.path, "restore", "volume",
                                    "data",        file,       target};
  };
  auto full = fastest_run(restore_argv(old_file));
  ASSERT_EQ(snapshot(target), old_snap);

  int landed = 0, saw_old = 0, saw_new = 0;
  for (int i = 0; i < kKills; ++i) {
    auto now = snapshot(target);
    bool is_old = now == old_snap;
    std::uniform_int_distribution<int64_t> when(0, full.count());
    if (kill_after(spawn(restore_argv(is_old ? new_file : old_file)),
                   std::chrono::microseconds(when(rng_)))) {
      ++landed;
    }
    auto after = snapshot(target);
    ASSERT_TRUE(after == old_snap || after == new_snap) << "kill " << i << ": a mix of old and new";
    (after == old_snap ? saw_old : saw_new)++;
    {
      auto b = Backups::open(paths_);
      ASSERT_TRUE(b.ok());
      ASSERT_TRUE(b->recover().ok());
    }
    for (const auto& f : files_in(root_.path)) {
      EXPECT_EQ(f.find("target.restore-"), std::string::npos)
          << "kill " << i << ": " << f << " left";
    }
    ASSERT_EQ(unfinished(), 0u) << "kill " << i << ": recovery left the killed restore open";
  }
  std::printf(
      "restore: %d of %d kills landed; target old %d times, new %d times (full run %lld us)\n",
      landed, kKills, saw_old, saw_new, static_cast<long long>(full.count()));
  // Kill points are spread over the fastest timed run; under CI load runs still vary, so only
  // a quarter must land (35 of 60 landed with both cores busy).
  EXPECT_GE(landed, kKills / 4);
}

}  // namespace
}  // namespace cells::backup
