// Freeze: a process in a cell's cgroup increments a shared counter; while the backup reads the
// tree the cgroup reports frozen and the counter stands still, afterwards it runs again. A
// failed freeze (a missing cgroup) thaws the cgroups it had frozen. Uses the scratch root's own
// cgroup instance and removes it.
#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "backup/backup.h"
#include "tests/backup/harness.h"

namespace cells::backup {
namespace {

namespace fs = std::filesystem;
using testing::ScratchRoot;

class Freeze : public testing::BackupTest {
 protected:
  void SetUp() override {
    testing::BackupTest::SetUp();
    if (HasFatalFailure()) return;
    made_parent_ = ::mkdir(paths_.cgroup_parent().c_str(), 0755) == 0;
    cell_ = paths_.cgroup_parent() + "/web";
    ASSERT_EQ(::mkdir(cell_.c_str(), 0755), 0) << strerror(errno);
    counter_ = static_cast<std::atomic<uint64_t>*>(
        ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
    child_ = ::fork();
    if (child_ == 0) {
      for (;;) counter_->fetch_add(1, std::memory_order_relaxed);
    }
    testing::write_text(cell_ + "/cgroup.procs", std::to_string(child_));
    testing::make_rich_tree(root_ / "src");
    std::string big(48 << 20, '\0');
    for (size_t i = 0; i < big.size(); i += 64) big[i] = static_cast<char>(i >> 7);
    testing::write_text(root_ / "src/big2", big);
  }
  void TearDown() override {
    testing::write_text(cell_ + "/cgroup.kill", "1");
    ::waitpid(child_, nullptr, 0);
    for (int i = 0; i < 100 && ::rmdir(cell_.c_str()) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_FALSE(fs::exists(cell_));
    if (made_parent_) ::rmdir(paths_.cgroup_parent().c_str());
    ::munmap(counter_, 4096);
  }
  bool advancing() {
    uint64_t a = counter_->load();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    return counter_->load() != a;
  }

  bool made_parent_ = false;
  std::string cell_;
  std::atomic<uint64_t>* counter_ = nullptr;
  pid_t child_ = -1;
};

TEST_F(Freeze, CellIsFrozenWhileTheTreeIsReadAndThawedAfter) {
  ASSERT_TRUE(advancing());
  int checks = 0;
  CreateOptions o;
  o.freeze_cgroups = {cell_};
  o.threads = 1;
  o.progress = [&](const Progress& p) {
    if (p.bytes_done == p.bytes_total) return;  // the final report comes after the thaw
    EXPECT_EQ(*cgroup_event(cell_, "frozen"), 1);
    EXPECT_FALSE(advancing()) << "the counter moved during the backup";
    ++checks;
  };
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", o);
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_GT(checks, 0);
  EXPECT_GT(made->freeze_time.count(), 0);
  EXPECT_EQ(made->record.freeze_ns, made->freeze_time.count());
  EXPECT_EQ(*cgroup_event(cell_, "frozen"), 0);
  EXPECT_TRUE(advancing());
}

TEST_F(Freeze, NoFreezeLeavesTheCellRunning) {
  int checks = 0;
  CreateOptions o;
  o.freeze_cgroups = {cell_};
  o.no_freeze = true;
  o.progress = [&](const Progress&) {
    EXPECT_EQ(*cgroup_event(cell_, "frozen"), 0);
    ++checks;
  };
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", o);
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_GT(checks, 0);
  EXPECT_EQ(made->freeze_time.count(), 0);
}

TEST_F(Freeze, FailedFreezeThawsWhatItFroze) {
  CreateOptions o;
  o.freeze_cgroups = {cell_, paths_.cgroup_parent() + "/no-such-cell"};
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", o);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(made.error().message().find("no-such-cell"), std::string::npos)
      << made.error().message();
  EXPECT_EQ(*cgroup_event(cell_, "frozen"), 0);
  EXPECT_TRUE(advancing());
  auto list = backups_->list(Kind::kVolume, "");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_TRUE(fs::is_empty(paths_.backups_dir() + "/volumes"));  // no partial file either
}

TEST_F(Freeze, RestoreIsRefusedWhileTheCellRuns) {
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src/sub", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  std::string target = root_ / "target";
  fs::create_directories(target);
  testing::write_text(target + "/old", "old");
  auto before = testing::snapshot(target);
  RestoreOptions o;
  o.in_use_cgroups = {cell_};
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, target, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kBusy);
  EXPECT_NE(r.error().message().find("in use by " + cell_), std::string::npos)
      << r.error().message();
  EXPECT_EQ(testing::snapshot(target), before);
}

TEST(FreezeUnit, MissingCgroupIsNotFound) {
  auto f = CgroupFreeze::freeze({"/sys/fs/cgroup/unified/definitely-not-a-cell"},
                                std::chrono::milliseconds(100));
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace cells::backup
