// Round trips: a tree backed up and restored (by Backups::restore and by hand with GNU tar)
// comes back byte-exact with owners, modes, times, xattrs, hard links and sparse holes; names,
// listing, verify, delete and prune behave as documented; the journal holds the records.
#include "backup/backup.h"

#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/xattr.h>

#include <cstring>

#include "tests/backup/harness.h"

namespace cells::backup {
namespace {

namespace fs = std::filesystem;
using testing::ScratchRoot;
using testing::snapshot;

class RoundTrip : public testing::BackupTest {
 protected:
  void SetUp() override {
    testing::BackupTest::SetUp();
    if (HasFatalFailure()) return;
    testing::make_rich_tree(root_ / "src");
  }
};

TEST_F(RoundTrip, RestoreIsByteExactAndReplacesOldContent) {
  std::vector<Progress> seen;
  CreateOptions co;
  co.source_generation = 7;
  co.progress = [&](const Progress& p) { seen.push_back(p); };
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", co);
  ASSERT_TRUE(made.ok()) << made.error().message();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().bytes_done, seen.back().bytes_total);
  EXPECT_GT(seen.back().bytes_total, 3u << 20);

  std::string target = root_ / "target";
  fs::create_directories(target + "/old-dir");
  testing::write_text(target + "/old-file", "old");
  auto before = snapshot(root_ / "src");
  std::vector<Progress> restored;
  RestoreOptions ro;
  ro.progress = [&](const Progress& p) { restored.push_back(p); };
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, target, ro);
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_FALSE(restored.empty());
  EXPECT_EQ(restored.back().bytes_done, made->record.size);  // compressed bytes read
  EXPECT_EQ(restored.back().bytes_total, made->record.size);
  EXPECT_EQ(snapshot(target), before);
  EXPECT_EQ(snapshot(root_ / "src"), before);  // the backup changed nothing in the source
  // Sparse: 100 MiB logical, almost nothing allocated.
  struct stat st {};
  ASSERT_EQ(::stat((target + "/sparse.img").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 100 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);
  // No staging or old content left beside the target.
  for (const auto& e : fs::directory_iterator(root_.path)) {
    EXPECT_EQ(e.path().filename().string().find("target.restore-"), std::string::npos) << e.path();
  }
}

TEST_F(RoundTrip, GnuTarRestoresTheArchiveByHandIdentically) {
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  fs::create_directories(root_ / "by-hand");
  auto r = testing::run({"tar", "--zstd", "-xpf", made->path, "-C", root_ / "by-hand", "--xattrs",
                         "--xattrs-include=user.*", "--numeric-owner"});
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out, "");  // no warnings either
  EXPECT_EQ(snapshot(root_ / "by-hand"), snapshot(root_ / "src"));
}

TEST_F(RoundTrip, JournalRecordsAndVerify) {
  CreateOptions co;
  co.source_generation = 42;
  auto made = backups_->create(Kind::kOverlay, "web", root_ / "src", co);
  ASSERT_TRUE(made.ok()) << made.error().message();
  auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
  ASSERT_TRUE(st.ok());
  auto entries = st->list_journal({.kind = "backup.create"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].phase, store::Phase::kIntent);
  EXPECT_EQ((*entries)[1].phase, store::Phase::kDone);
  EXPECT_EQ((*entries)[1].target, "cell/web/overlay");
  auto rec = decode_record((*entries)[1].after);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->generation, 42u);
  EXPECT_EQ(rec->size, fs::file_size(made->path));
  auto sum = testing::run({"sha256sum", made->path});
  EXPECT_EQ(sum.out.substr(0, 64), rec->sha256);
  EXPECT_EQ(made->path, paths_.backups_dir() + "/overlays/" + rec->file);

  auto v = backups_->verify(Kind::kOverlay, rec->file);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->sha256, rec->sha256);
}

TEST_F(RoundTrip, SameSecondNamesListPruneDelete) {
  std::vector<std::string> files;
  for (int i = 0; i < 4; ++i) {
    auto made = backups_->create(Kind::kVolume, "data", root_ / "src/sub/deeper", {});
    ASSERT_TRUE(made.ok()) << made.error().message();
    files.push_back(made->record.file);
  }
  ASSERT_TRUE(backups_->create(Kind::kVolume, "data_other", root_ / "src/empty", {}).ok());
  // Deterministic: a second archive in one second gets -1, then -2 (unless the clock ticked).
  auto first = parse_archive_file(files[0]);
  auto second = parse_archive_file(files[1]);
  ASSERT_TRUE(first && second);
  if (first->timestamp == second->timestamp) {
    EXPECT_EQ(second->seq, first->seq + 1);
  }
  testing::write_text(paths_.backups_dir() + "/volumes/data_20000101000000.tar.zst.partial", "x");

  auto list = backups_->list(Kind::kVolume, "data");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 4u);  // not data_other, not the partial file
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ((*list)[i].name.file(), files[3 - i]);  // newest first
  EXPECT_TRUE((*list)[0].record.has_value());

  auto pruned = backups_->prune(Kind::kVolume, "data", 2);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message();
  EXPECT_EQ(*pruned, (std::vector<std::string>{files[1], files[0]}));
  ASSERT_TRUE(backups_->remove(Kind::kVolume, files[3]).ok());
  list = backups_->list(Kind::kVolume, "data");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name.file(), files[2]);
  EXPECT_FALSE(fs::exists(paths_.backups_dir() + "/volumes/" + files[3]));
  auto gone = backups_->remove(Kind::kVolume, files[3]);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().kind(), ErrorKind::kNotFound);
  // The next mutating call cleaned the stale partial file.
  EXPECT_FALSE(fs::exists(paths_.backups_dir() + "/volumes/data_20000101000000.tar.zst.partial"));
}

TEST_F(RoundTrip, RestoreCreatesAMissingTarget) {
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok());
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, root_ / "fresh", {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(snapshot(root_ / "fresh"), snapshot(root_ / "src"));
}

TEST_F(RoundTrip, BackgroundCleanupReturnsWithTheNewTreeAndRemovesTheOldOneAfter) {
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  std::string target = root_ / "target";
  for (int d = 0; d < 20; ++d) {
    fs::create_directories(target + "/old" + std::to_string(d));
    for (int f = 0; f < 50; ++f) {
      testing::write_text(target + "/old" + std::to_string(d) + "/f" + std::to_string(f), "old");
    }
  }
  RestoreOptions ro;
  ro.background_cleanup = true;
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, target, ro);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(snapshot(target), snapshot(root_ / "src"));
  EXPECT_GT(r->spans.extract.count(), 0);
  for (const auto& e : fs::directory_iterator(root_.path)) {
    EXPECT_EQ(e.path().filename().string().find("target.restore-"), std::string::npos) << e.path();
  }
  // The remover holds no descriptor of ours: the store's writer lock is free right away, so
  // the next operation runs while the old tree may still be going.
  auto next = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(next.ok()) << next.error().message();
  const std::string trash = paths_.lib_dir() + "/backup-trash";
  bool empty = false;
  for (int i = 0; i < 400 && !empty; ++i) {
    empty = fs::is_empty(trash);
    if (!empty) ::usleep(50 * 1000);
  }
  EXPECT_TRUE(empty) << "the old tree is still in " << trash;
}

TEST_F(RoundTrip, RecoverRemovesTrashNobodyHoldsAndLeavesAHeldOne) {
  const std::string trash = paths_.lib_dir() + "/backup-trash";
  fs::create_directories(trash + "/98/sub");
  fs::create_directories(trash + "/99/sub");
  testing::write_text(trash + "/99/sub/f", "left by a killed remover");
  // 98 is held the way a running remover holds it.
  int held = ::open((trash + "/98").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  ASSERT_EQ(::flock(held, LOCK_EX), 0);
  auto rep = backups_->recover();
  ASSERT_TRUE(rep.ok()) << rep.error().message();
  EXPECT_EQ(rep->removed, std::vector<std::string>{trash + "/99"});
  EXPECT_FALSE(fs::exists(trash + "/99"));
  EXPECT_TRUE(fs::exists(trash + "/98/sub"));
  ::close(held);
  rep = backups_->recover();
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->removed, std::vector<std::string>{trash + "/98"});
  EXPECT_TRUE(fs::is_empty(trash));
}

// Members with POSIX ACLs are written by libarchive (StagingWriter hands them over); the rest
// of the same archive by StagingWriter. Both halves must come back.
TEST_F(RoundTrip, AclsSurviveNextToPlainMembers) {
  // system.posix_acl_access in the kernel's format: version 2, then (tag, perm, id) entries
  // sorted by tag: user::rw-, user:1234:r--, group::r--, mask::r--, other::---.
  struct AclEntry {
    uint16_t tag, perm;
    uint32_t id;
  };
  const AclEntry entries[] = {{0x01, 6, ~0u}, {0x02, 4, 1234}, {0x04, 4, ~0u}, {0x10, 4, ~0u},
                              {0x20, 0, ~0u}};
  std::string acl(4, '\0');
  acl[0] = 2;
  acl.append(reinterpret_cast<const char*>(entries), sizeof entries);
  std::string file = root_ / "src/sub/acl.txt";
  testing::write_text(file, "with an acl");
  ASSERT_EQ(::setxattr(file.c_str(), "system.posix_acl_access", acl.data(), acl.size(), 0), 0)
      << std::strerror(errno);
  auto before = snapshot(root_ / "src");
  auto made = backups_->create(Kind::kVolume, "data", root_ / "src", {});
  ASSERT_TRUE(made.ok()) << made.error().message();
  std::string target = root_ / "target";
  auto r = backups_->restore(Kind::kVolume, "data", made->record.file, target, {});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(snapshot(target), before);
  std::string got(acl.size() + 64, '\0');
  ssize_t n = ::getxattr((target + "/sub/acl.txt").c_str(), "system.posix_acl_access", got.data(),
                         got.size());
  ASSERT_GT(n, 0) << std::strerror(errno);
  got.resize(static_cast<size_t>(n));
  EXPECT_EQ(got, acl);
}

}  // namespace
}  // namespace cells::backup
