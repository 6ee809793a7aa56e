// Bad input fails with a one-line error that names what is wrong, and changes nothing: a
// missing source, a missing archive, the wrong kind, bad names, an unrecorded archive, and a
// full disk (a 16 MiB loop-mounted ext4) for both backup and restore.
#include <sys/mount.h>

#include <random>

#include <gtest/gtest.h>

#include "backup/backup.h"
#include "tests/backup/harness.h"

namespace cells::backup {
namespace {

namespace fs = std::filesystem;
using testing::ScratchRoot;
using testing::snapshot;

class BadInput : public testing::BackupTest {
 protected:
  void SetUp() override {
    testing::BackupTest::SetUp();
    if (HasFatalFailure()) return;
    fs::create_directories(root_ / "src/dir");
    testing::write_text(root_ / "src/dir/file", "content");
    fs::create_directories(target_);
    testing::write_text(target_ + "/old", "old data");
    before_ = snapshot(target_);
  }
  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) {
      EXPECT_EQ(::umount2(it->c_str(), 0), 0) << *it << ": " << strerror(errno);
    }
  }
  uint64_t journal_seq() {
    auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
    return st ? st->journal_head()->last_seq : 0;
  }
  void expect_error(const Status& st, ErrorKind kind, const std::string& part) {
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().kind(), kind) << st.error().message();
    EXPECT_NE(st.error().message().find(part), std::string::npos) << st.error().message();
    EXPECT_EQ(st.error().message().find('\n'), std::string::npos);
    EXPECT_EQ(snapshot(target_), before_);
  }
  template <typename T>
  void expect_error(const Result<T>& r, ErrorKind kind, const std::string& part) {
    if (r.ok()) return expect_error(Status(), kind, part);
    expect_error(Status(r.error()), kind, part);
  }
  // A 16 MiB ext4 mounted (loop) at DIR; unmounted in TearDown (autoclear frees the loop).
  void mount_small_fs(const std::string& dir) {
    fs::create_directories(dir);
    std::string img = root_ / ("fs" + std::to_string(mounts_.size()) + ".img");
    auto r = testing::sh("truncate -s 16M " + img + " && mkfs.ext4 -q -F " + img +
                         " && mount -o loop " + img + " " + dir);
    ASSERT_EQ(r.status, 0) << r.out;
    mounts_.push_back(dir);
  }
  void write_random(const std::string& path, size_t bytes) {
    std::mt19937_64 rng(7);
    std::string data(bytes, '\0');
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
      uint64_t v = rng();
      memcpy(&data[i], &v, 8);
    }
    testing::write_text(path, data);
  }

  std::string target_ = root_ / "target";
  std::map<std::string, std::string> before_;
  std::vector<std::string> mounts_;
};

TEST_F(BadInput, MissingSource) {
  uint64_t seq = journal_seq();
  auto r = backups_->create(Kind::kVolume, "data", root_ / "nope", {});
  expect_error(r, ErrorKind::kNotFound, "no source directory " + (root_ / "nope"));
  EXPECT_EQ(journal_seq(), seq);
  EXPECT_FALSE(fs::exists(paths_.backups_dir()));
}

TEST_F(BadInput, MissingArchive) {
  expect_error(backups_->restore(Kind::kVolume, "data", "data_20200101000000.tar.zst", target_, {}),
               ErrorKind::kNotFound, "no volume archive data_20200101000000.tar.zst");
  expect_error(backups_->restore(Kind::kVolume, "data", root_ / "missing.tar.zst", target_, {}),
               ErrorKind::kNotFound, "no archive " + (root_ / "missing.tar.zst"));
  expect_error(backups_->verify(Kind::kVolume, "data_20200101000000.tar.zst"), ErrorKind::kNotFound,
               "data_20200101000000.tar.zst");
  expect_error(backups_->remove(Kind::kVolume, "data_20200101000000.tar.zst"), ErrorKind::kNotFound,
               "data_20200101000000.tar.zst");
}

TEST_F(BadInput, WrongKind) {
  auto made = backups_->create(Kind::kOverlay, "web", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  expect_error(backups_->restore(Kind::kVolume, "web", made->record.file, target_, {}),
               ErrorKind::kInvalid, "is an overlay backup, not a volume backup");
  // By path, the journal record still knows the kind.
  expect_error(backups_->restore(Kind::kVolume, "web", made->path, target_, {}),
               ErrorKind::kInvalid, "is an overlay backup, not a volume backup");
  expect_error(backups_->verify(Kind::kVolume, made->record.file), ErrorKind::kInvalid,
               "not a volume backup");
}

TEST_F(BadInput, BadNamesAndPaths) {
  expect_error(backups_->create(Kind::kVolume, "../x", root_ / "src", {}), ErrorKind::kInvalid,
               "name '../x' starts with '.'");
  expect_error(backups_->create(Kind::kVolume, "a/b", root_ / "src", {}), ErrorKind::kInvalid,
               "name 'a/b' contains '/'");
  expect_error(backups_->create(Kind::kVolume, "", root_ / "src", {}), ErrorKind::kInvalid,
               "empty name");
  expect_error(backups_->restore(Kind::kVolume, "data", "foo", target_, {}), ErrorKind::kInvalid,
               "'foo' is not an archive name");
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok());
  expect_error(backups_->restore(Kind::kVolume, "data", made->record.file, "relative/t", {}),
               ErrorKind::kInvalid, "not an absolute path");
  expect_error(backups_->restore(Kind::kVolume, "data", made->record.file, root_ / "no/such/t", {}),
               ErrorKind::kNotFound, "no directory " + (root_ / "no/such"));
  expect_error(backups_->prune(Kind::kVolume, "bad name", 1), ErrorKind::kInvalid, "contains ' '");
}

TEST_F(BadInput, UnrecordedArchiveNeedsConsent) {
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok());
  std::string copy = root_ / "imported.tar.zst";
  fs::copy_file(made->path, copy);
  expect_error(backups_->restore(Kind::kVolume, "data", copy, target_, {}), ErrorKind::kNotFound,
               "no journal record for archive imported.tar.zst");
  RestoreOptions o;
  o.allow_unrecorded = true;
  auto r = backups_->restore(Kind::kVolume, "data", copy, target_, o);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(testing::read_text(target_ + "/dir/file"), "content");
}

TEST_F(BadInput, FullDiskDuringBackup) {
  write_random(root_ / "src/big", 40 << 20);
  mount_small_fs(paths_.backups_dir());
  auto r = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kSystem) << r.error().message();
  EXPECT_EQ(r.error().sys_errno(), ENOSPC) << r.error().message();
  for (const auto& e : fs::directory_iterator(paths_.backups_dir() + "/volumes")) {
    ADD_FAILURE() << "left behind: " << e.path();
  }
  auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
  auto entries = st->list_journal({.kind = "backup.create"});
  ASSERT_TRUE(entries.ok());
  ASSERT_FALSE(entries->empty());
  EXPECT_EQ(entries->back().phase, store::Phase::kFailed);
}

TEST_F(BadInput, FullDiskDuringRestore) {
  write_random(root_ / "src/big", 40 << 20);
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  mount_small_fs(root_ / "small");
  std::string small_target = root_ / "small/vol";
  fs::create_directories(small_target);
  testing::write_text(small_target + "/old", "old data on the small disk");
  auto small_before = snapshot(small_target);
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, small_target, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("free space"), std::string::npos) << r.error().message();
  EXPECT_EQ(snapshot(small_target), small_before);
  for (const auto& e : fs::directory_iterator(root_ / "small")) {
    EXPECT_EQ(e.path().filename().string().find(".restore-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace cells::backup
