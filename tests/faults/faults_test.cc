// Fault injection (privileged): the real cellmgr on a scratch --root whose backup directory,
// volume directory, store or cell directory is a small loop-mounted ext4 (LoopFs) that fills
// up, runs out of inodes, or is remounted read-only in the middle of a restore. Each failure
// must be one line naming the problem (ENOSPC / EROFS) and the path, and the old state must
// survive: the journal verifies, old archives and volume contents are byte-identical, no
// partial or staging file is left once the disk has room again.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <list>
#include <map>
#include <thread>

#include "base/files.h"
#include "engine/rootfs_build.h"
#include "store/codec.h"
#include "tests/controlplane/harness.h"
#include "tests/faults/loop_fs.h"

namespace cells::faults::testing {
namespace {

namespace fs = std::filesystem;
using controlplane::testing::ControlPlaneTest;
using controlplane::testing::Outcome;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Every regular file and symlink below DIR with a digest of its content, and every directory:
// the "old state" a failed operation must leave exactly as it was.
std::map<std::string, std::string> tree(const std::string& dir) {
  std::map<std::string, std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = e.path().string().substr(dir.size());
    if (e.is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(e.path()).string();
    } else if (e.is_directory()) {
      out[rel] = "dir";
    } else {
      std::ifstream in(e.path(), std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      out[rel] = store::to_hex(store::sha256(bytes));
    }
  }
  return out;
}

std::string random_bytes(size_t n) {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  return s;
}

class Faults : public ControlPlaneTest {
 protected:
  void TearDown() override {
    if (!scratch_.empty()) {
      // Reset while the small filesystems still hold the store and data, then unmount them
      // (even after a failed assertion) so the harness finds nothing mounted under the root.
      (void)cellmgr({"system", "reset", "--yes"});
      loops_.clear();
    }
    ControlPlaneTest::TearDown();
  }

  // Mounts a fresh small filesystem on DIR; nullptr (and a test failure) if that failed.
  LoopFs* small_fs(const std::string& dir, LoopFsOptions options = {}) {
    EXPECT_TRUE(make_dirs(dir, 0755).ok()) << dir;
    auto m = LoopFs::mount(dir, options);
    if (!m) {
      ADD_FAILURE() << m.error().message();
      return nullptr;
    }
    return &loops_.emplace_back(std::move(*m));
  }

  // A failed command: nonzero, exactly one line on stderr, "cellmgr: " first, every NEEDLE in it.
  static void expect_one_line_error(const Outcome& r, const std::vector<std::string>& needles) {
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_THAT(r.err, StartsWith("cellmgr: "));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    for (const auto& n : needles) EXPECT_THAT(r.err, HasSubstr(n));
  }

  void expect_journal_intact() {
    Outcome v = cellmgr({"journal", "verify"});
    EXPECT_EQ(v.status, 0) << v.out << v.err;
    EXPECT_THAT(v.out, HasSubstr("journal intact"));
  }

  std::string volume(const std::string& name) const { return paths_->volumes_dir() + "/" + name; }

  void make_volume(const std::string& name) {
    Outcome c = cellmgr({"volume", "create", name, "--scope", "both"});
    ASSERT_EQ(c.status, 0) << c.err;
  }

  std::list<LoopFs> loops_;  // a list: references handed out stay valid
};

TEST_F(Faults, BackupCreateOnAFullDiskNamesItAndKeepsOlderArchives) {
  bootstrap();
  make_volume("data");
  // Incompressible, so the archive needs about as much room as the data.
  ASSERT_TRUE(write_file_atomic(volume("data") + "/random.bin", random_bytes(3 << 20)).ok());
  ASSERT_TRUE(write_file_atomic(volume("data") + "/note.txt", "keep me\n").ok());
  LoopFs* disk = small_fs(paths_->backups_dir(), {.size_mib = 16});
  ASSERT_NE(disk, nullptr);

  Outcome first = cellmgr({"volume", "backup", "create", "data"});
  ASSERT_EQ(first.status, 0) << first.err;
  const std::string archives = paths_->backups_dir() + "/volumes";
  const auto before = tree(archives);
  ASSERT_EQ(before.size(), 1u);

  ASSERT_TRUE(disk->fill(1 << 20).ok());
  Outcome full = cellmgr({"volume", "backup", "create", "data"});
  expect_one_line_error(full, {"No space left on device", archives + "/data_"});
  // No partial archive, the old one byte-identical and still verifiable.
  EXPECT_EQ(tree(archives), before);
  Outcome verify = cellmgr({"volume", "backup", "verify", "data"});
  EXPECT_EQ(verify.status, 0) << verify.err;
  expect_journal_intact();

  // With room again the same command works: nothing was left that blocks it.
  ASSERT_TRUE(disk->unfill().ok());
  Outcome again = cellmgr({"volume", "backup", "create", "data"});
  EXPECT_EQ(again.status, 0) << again.err;
  EXPECT_EQ(tree(archives).size(), 2u);
}

// Restore stages the new tree beside the target, on the same filesystem. With the data blocks
// nearly gone the size budget refuses it up front; with the inodes gone extraction itself hits
// ENOSPC half way. Either way the volume keeps its old content and no staging tree stays.
TEST_F(Faults, RestoreOnAFullDiskKeepsTheOldVolume) {
  bootstrap();
  LoopFs* disk = small_fs(paths_->volumes_dir(), {.size_mib = 16, .inodes = 512});
  ASSERT_NE(disk, nullptr);
  make_volume("data");
  for (int i = 0; i < 150; ++i) {
    std::ofstream(volume("data") + "/f" + std::to_string(i)) << "v1 " << i;
  }
  ASSERT_TRUE(write_file_atomic(volume("data") + "/big.bin", random_bytes(2 << 20)).ok());
  ASSERT_EQ(cellmgr({"volume", "backup", "create", "data"}).status, 0);
  ASSERT_TRUE(write_file_atomic(volume("data") + "/f0", "edited after the backup").ok());
  const auto old = tree(volume("data"));

  ASSERT_TRUE(disk->fill(512 << 10).ok());
  Outcome blocks = cellmgr({"volume", "backup", "restore", "data", "--yes"});
  expect_one_line_error(blocks, {"free space", "big.bin"});
  EXPECT_EQ(tree(volume("data")), old);

  ASSERT_TRUE(disk->unfill().ok());
  ASSERT_TRUE(disk->fill_inodes(40).ok());
  Outcome inodes = cellmgr({"volume", "backup", "restore", "data", "--yes"});
  expect_one_line_error(inodes, {"No space left on device", volume("data") + ".restore-"});
  EXPECT_EQ(tree(volume("data")), old);
  for (const auto& e : fs::directory_iterator(paths_->volumes_dir())) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".restore-")));
  }
  expect_journal_intact();

  ASSERT_TRUE(disk->unfill().ok());
  Outcome ok = cellmgr({"volume", "backup", "restore", "data", "--yes"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(read_file(volume("data") + "/f0").value_or("?"), "v1 0");
}

// The store on a full disk: LMDB reuses its own free pages for a while, so edits go on until
// one needs a new page. That one fails naming ENOSPC and the store; the journal verifies, and
// the failed edit left neither its manifest nor a generation (an edit is all there or not).
// Which write runs out (the operation's intent, or the generation commit after it) depends on
// how many bytes the entries take, so the test runs with names of two lengths. When the disk
// fills part way through a write, LMDB reports the short write as EIO; the store must still
// say ENOSPC.
class JournalOnAFullDisk : public Faults, public ::testing::WithParamInterface<int> {};

TEST_P(JournalOnAFullDisk, WritesFailCleanly) {
  LoopFs* disk = small_fs(paths_->state_dir(), {.size_mib = 16});
  ASSERT_NE(disk, nullptr);
  bootstrap();
  make_volume("first");
  ASSERT_TRUE(disk->fill(0).ok());  // as full as fallocate can make it

  bool failed = false;
  for (int i = 0; i < 200 && !failed; ++i) {
    const std::string name = "v" + std::string(size_t(GetParam()), 'p') + std::to_string(i);
    const uint64_t gen_before = generation();
    Outcome r = cellmgr({"volume", "create", name, "--scope", "desired"});
    if (r.status == 0) continue;
    failed = true;
    SCOPED_TRACE("edit " + std::to_string(i) + " failed: " + r.err);
    expect_one_line_error(r, {"No space left on device", paths_->state_dir()});
    // A failed edit changed nothing: its manifest went back, and no generation was committed
    // (the generation and the edit's outcome are one transaction).
    EXPECT_FALSE(fs::exists(paths_->etc_dir() + "/" + name + ".volume")) << r.err;
    EXPECT_EQ(generation(), gen_before) << r.err;
  }
  ASSERT_TRUE(failed) << "200 edits on a full disk all succeeded";
  expect_journal_intact();
  EXPECT_TRUE(fs::exists(paths_->etc_dir() + "/first.volume"));
  EXPECT_TRUE(fs::is_directory(volume("first")));

  // Room again: edits work.
  ASSERT_TRUE(disk->unfill().ok());
  Outcome after = cellmgr({"volume", "create", "after", "--scope", "both"});
  EXPECT_EQ(after.status, 0) << after.err;
  expect_journal_intact();
}

INSTANTIATE_TEST_SUITE_P(NameLengths, JournalOnAFullDisk, ::testing::Values(0, 10));

// The volume filesystem turns read-only while a restore is extracting: the restore fails naming
// EROFS, the volume keeps its old content, and once the disk is writable again the next
// operation's recovery removes the staging tree the failed one could not.
TEST_F(Faults, ReadOnlyRemountDuringRestore) {
  bootstrap();
  LoopFs* disk = small_fs(paths_->volumes_dir(), {.size_mib = 48});
  ASSERT_NE(disk, nullptr);
  make_volume("data");
  for (int i = 0; i < 3000; ++i) {  // enough files that the restore takes a while
    std::ofstream(volume("data") + "/f" + std::to_string(i)) << i;
  }
  ASSERT_EQ(cellmgr({"volume", "backup", "create", "data"}).status, 0);
  ASSERT_TRUE(write_file_atomic(volume("data") + "/f0", "edited after the backup").ok());
  const auto old = tree(volume("data"));

  // Start the restore, wait for its staging directory, then remount read-only. The remount
  // is refused (EBUSY) while a file is open for writing, so it is retried between files.
  std::optional<Outcome> result;
  std::thread restore([&] { result = cellmgr({"volume", "backup", "restore", "data", "--yes"}); });
  bool remounted = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool staging_seen = false;
  while (!remounted && std::chrono::steady_clock::now() < deadline) {
    if (!staging_seen) {
      for (const auto& e : fs::directory_iterator(paths_->volumes_dir())) {
        const std::string n = e.path().filename().string();
        if (n.find(".restore-") != std::string::npos) staging_seen = true;
      }
      continue;
    }
    remounted = disk->remount_read_only().ok();
  }
  restore.join();
  ASSERT_TRUE(staging_seen) << "the restore never staged";
  ASSERT_TRUE(remounted) << "could not remount read-only during the restore";
  ASSERT_TRUE(result.has_value());
  expect_one_line_error(*result, {"Read-only file system", volume("data") + ".restore-"});
  EXPECT_EQ(tree(volume("data")), old);
  expect_journal_intact();

  // Writable again: recovery (run first by every backup operation) removes the staging tree.
  ASSERT_TRUE(disk->remount_read_write().ok());
  Outcome next = cellmgr({"volume", "backup", "create", "data"});
  EXPECT_EQ(next.status, 0) << next.err;
  for (const auto& e : fs::directory_iterator(paths_->volumes_dir())) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(HasSubstr(".restore-")));
  }
  EXPECT_EQ(tree(volume("data")), old);
}

// An apply whose plan writes more than the cell's disk holds: the plan step fails on one
// ERROR line naming the plan line, the file and ENOSPC; the apply rolls the cell back
// (snapshot.h), so its layer is byte for byte what it was and the old page is still served;
// the journal verifies.
TEST_F(Faults, ApplyOnAFullDiskRollsTheCellBack) {
  bootstrap();
  ASSERT_NE(small_fs(paths_->cells_dir(), {.size_mib = 24}), nullptr);
  const std::string port = std::to_string(free_port());
  Outcome c = cellmgr({"cell", "create", "site", "--autostart", "YES", "--profile", "medium",
                       "--reserved-ports", port, "--cmd",
                       "busybox httpd -f -p " + port + " -h /var/www/site", "--scope", "desired"});
  ASSERT_EQ(c.status, 0) << c.err;
  const std::string plan = paths_->etc_dir() + "/site.apply";
  auto page_plan = [](const std::string& text) {
    return "FILE_BEGIN /var/www/site/index.html\n" + text + "\nFILE_END\n";
  };
  ASSERT_TRUE(write_file_atomic(plan, page_plan("version one")).ok());
  Outcome first = cellmgr({"apply"});
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  const std::string layer = engine::cell_root_layout(*paths_, "site").overlay;
  const auto old_layer = tree(layer);
  ASSERT_EQ(old_layer.count("/var/www/site/index.html"), 1u);
  const uint64_t old_generation = generation();

  // 32 MiB of asset into a 24 MiB filesystem.
  ASSERT_TRUE(write_file_atomic(paths_->etc_dir() + "/big.bin", random_bytes(32 << 20)).ok());
  ASSERT_TRUE(
      write_file_atomic(plan, page_plan("version two") + "COPY big.bin /var/www/site/big.bin\n")
          .ok());
  Outcome full = cellmgr({"apply"});
  EXPECT_NE(full.status, 0) << full.out;
  EXPECT_THAT(full.out, HasSubstr("  ERROR        cell site: " + plan +
                                  ":4: COPY /var/www/site/big.bin: write /var/www/site/big.bin: "
                                  "No space left on device\n"));
  // The apply's new generation is committed, but this cell is back at its old one (DECISIONS
  // 38: each cell wholly at one generation), with its layer byte for byte as it was.
  EXPECT_THAT(full.out, HasSubstr("ROLLBACK     site restored to generation " +
                                  std::to_string(old_generation) + "\n"));
  EXPECT_EQ(tree(layer), old_layer);
  Outcome page;
  for (int i = 0; i < 40 && page.status != 0; ++i) {  // the rolled-back cell is restarting
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    page = host({"curl", "-fsS", "http://127.0.0.1:" + port + "/"});
  }
  EXPECT_THAT(page.out, HasSubstr("version one"));
  expect_journal_intact();

  // A plan that fits applies again: the failed one left nothing in the way.
  ASSERT_TRUE(write_file_atomic(plan, page_plan("version three")).ok());
  Outcome fits = cellmgr({"apply"});
  EXPECT_EQ(fits.status, 0) << fits.out << fits.err;
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Faults, LoopFsRefusesABadMountPoint) {
  auto m = LoopFs::mount(scratch_ + "/does-not-exist");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().message(), HasSubstr("does-not-exist"));
}

}  // namespace
}  // namespace cells::faults::testing
