// StagingWriter creates members beneath its directory only, never through a symlink (even one
// the lexical EntryGuard would have let pass), and gives them their metadata: owner before mode
// so setuid survives, directory modes and times after their children, sparse trailing holes.
#include "backup/staging_writer.h"

#include <archive_entry.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace cells::backup {
namespace {

namespace fs = std::filesystem;

struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<struct archive_entry, EntryFree>;

EntryPtr entry(mode_t type, mode_t perm, int64_t size = 0, time_t mtime = 1'000'000'000) {
  EntryPtr e(archive_entry_new());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), perm);
  archive_entry_set_size(e.get(), size);
  archive_entry_set_uid(e.get(), ::geteuid());
  archive_entry_set_gid(e.get(), ::getegid());
  archive_entry_set_mtime(e.get(), mtime, 123456789);
  return e;
}

class StagingWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-staging-writer-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    staging_ = root_ + "/staging";
    outside_ = root_ + "/outside";
    fs::create_directories(staging_);
    fs::create_directories(outside_);
  }
  void TearDown() override {
    // A read-only directory member must not stop the cleanup.
    for (const auto& e : fs::recursive_directory_iterator(root_)) {
      if (e.is_directory() && !e.is_symlink()) fs::permissions(e.path(), fs::perms::owner_all,
                                                               fs::perm_options::add);
    }
    fs::remove_all(root_);
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::string root_, staging_, outside_;
};

TEST_F(StagingWriterTest, WritesFilesDirectoriesAndLinksWithTheirMetadata) {
  auto w = StagingWriter::open(staging_);
  ASSERT_TRUE(w.ok()) << w.error().message();
  auto dir = entry(AE_IFDIR, 0500, 0, 2'000'000'000);
  ASSERT_TRUE(w->begin("ro", dir.get(), "").ok());
  ASSERT_TRUE(w->finish_entry().ok());

  // A file in the read-only directory, setuid, with an xattr.
  auto file = entry(AE_IFREG, 04750, 5);
  archive_entry_xattr_add_entry(file.get(), "user.color", "blue", 4);
  ASSERT_TRUE(w->begin("ro/f", file.get(), "").ok());
  ASSERT_TRUE(w->write_data("hello", 5, 0).ok());
  auto st = w->finish_entry();
  ASSERT_TRUE(st.ok()) << st.error().message();

  // A sparse file: data at 1 MiB, then a hole up to 4 MiB.
  auto sparse = entry(AE_IFREG, 0644, 4 << 20);
  ASSERT_TRUE(w->begin("sparse", sparse.get(), "").ok());
  ASSERT_TRUE(w->write_data("x", 1, 1 << 20).ok());
  ASSERT_TRUE(w->finish_entry().ok());

  auto link = entry(AE_IFLNK, 0777);
  archive_entry_set_symlink(link.get(), "ro/f");
  ASSERT_TRUE(w->begin("l", link.get(), "").ok());
  ASSERT_TRUE(w->finish_entry().ok());
  auto hard = entry(AE_IFREG, 0);
  ASSERT_TRUE(w->begin("h", hard.get(), "ro/f").ok());
  ASSERT_TRUE(w->finish_entry().ok());
  auto fifo = entry(AE_IFIFO, 0640);
  ASSERT_TRUE(w->begin("ro/fifo", fifo.get(), "").ok());
  ASSERT_TRUE(w->finish_entry().ok());
  // A member whose directory member is missing gets it created.
  auto deep = entry(AE_IFREG, 0600, 1);
  ASSERT_TRUE(w->begin("a/b/c", deep.get(), "").ok());
  ASSERT_TRUE(w->write_data("z", 1, 0).ok());
  ASSERT_TRUE(w->finish_entry().ok());
  auto top = entry(AE_IFDIR, 0711, 0, 1'500'000'000);
  ASSERT_TRUE(w->begin(".", top.get(), "").ok());
  st = w->finish();
  ASSERT_TRUE(st.ok()) << st.error().message();

  struct stat s {};
  ASSERT_EQ(::stat((staging_ + "/ro/f").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 04750u);
  EXPECT_EQ(s.st_nlink, 2u);  // "h" is a hard link to it
  EXPECT_EQ(s.st_mtim.tv_sec, 1'000'000'000);
  EXPECT_EQ(s.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(read(staging_ + "/h"), "hello");
  char value[16] = {};
  EXPECT_EQ(::getxattr((staging_ + "/ro/f").c_str(), "user.color", value, sizeof value), 4);
  EXPECT_STREQ(value, "blue");
  ASSERT_EQ(::stat((staging_ + "/ro").c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0500u);
  EXPECT_EQ(s.st_mtim.tv_sec, 2'000'000'000);  // set after its children were made
  ASSERT_EQ(::stat(staging_.c_str(), &s), 0);
  EXPECT_EQ(s.st_mode & 07777, 0711u);
  EXPECT_EQ(s.st_mtim.tv_sec, 1'500'000'000);
  ASSERT_EQ(::stat((staging_ + "/sparse").c_str(), &s), 0);
  EXPECT_EQ(s.st_size, 4 << 20);
  EXPECT_LT(s.st_blocks * 512, 1 << 20);  // the holes were not written
  EXPECT_EQ(fs::read_symlink(staging_ + "/l"), "ro/f");
  EXPECT_TRUE(fs::is_fifo(staging_ + "/ro/fifo"));
  EXPECT_EQ(read(staging_ + "/a/b/c"), "z");
}

TEST_F(StagingWriterTest, NeverWritesThroughASymlink) {
  // Planted by hand: the writer must refuse on its own, without the EntryGuard's help.
  fs::create_directory_symlink(outside_, staging_ + "/esc");
  std::ofstream(outside_ + "/victim") << "keep";
  auto w = StagingWriter::open(staging_);
  ASSERT_TRUE(w.ok());
  auto file = entry(AE_IFREG, 0644, 5);
  auto st = w->begin("esc/pwned", file.get(), "");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("esc/pwned"), std::string::npos) << st.error().message();
  auto dir = entry(AE_IFDIR, 0755);
  EXPECT_FALSE(w->begin("esc/sub/x", dir.get(), "").ok());
  // A hard link whose target lies behind the symlink.
  auto hard = entry(AE_IFREG, 0);
  EXPECT_FALSE(w->begin("stolen", hard.get(), "esc/victim").ok());
  // A file member over a symlink member replaces the link, never writes its target.
  fs::create_symlink(outside_ + "/victim", staging_ + "/over");
  auto over = entry(AE_IFREG, 0644, 5);
  ASSERT_TRUE(w->begin("over", over.get(), "").ok());
  ASSERT_TRUE(w->write_data("pwned", 5, 0).ok());
  ASSERT_TRUE(w->finish_entry().ok());
  EXPECT_FALSE(fs::is_symlink(staging_ + "/over"));
  EXPECT_EQ(read(outside_ + "/victim"), "keep");
  EXPECT_EQ(std::distance(fs::directory_iterator(outside_), fs::directory_iterator{}), 1);
  EXPECT_FALSE(fs::exists(staging_ + "/stolen"));
}

}  // namespace
}  // namespace cells::backup
