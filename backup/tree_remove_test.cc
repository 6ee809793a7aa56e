// remove_tree: removes everything below, never follows a symlink, tolerates a missing path,
// and names the entry it could not remove.
#include "backup/tree_remove.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cells::backup {
namespace {

namespace fs = std::filesystem;

class TreeRemove : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-tree-remove-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TreeRemove, RemovesEverythingAndFollowsNoSymlink) {
  const std::string tree = dir_ + "/tree", outside = dir_ + "/outside";
  fs::create_directories(outside);
  std::ofstream(outside + "/keep") << "keep";
  std::string deep = tree;
  for (int i = 0; i < 40; ++i) deep += "/d" + std::to_string(i);
  fs::create_directories(deep);
  std::ofstream(deep + "/f") << "x";
  for (int i = 0; i < 50; ++i) std::ofstream(tree + "/file" + std::to_string(i)) << i;
  fs::create_directory_symlink(outside, tree + "/link-to-dir");
  fs::create_symlink("/nonexistent", tree + "/dangling");
  ASSERT_EQ(::mkfifo((tree + "/fifo").c_str(), 0600), 0);
  fs::create_hard_link(tree + "/file1", tree + "/hard");
  ::chmod((tree + "/file2").c_str(), 0);

  ASSERT_TRUE(remove_tree(tree).ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(tree)));
  EXPECT_TRUE(fs::exists(outside + "/keep"));  // the symlinked directory was not entered
}

TEST_F(TreeRemove, MissingPathIsFineAndAFileOrSymlinkIsRemovedItself) {
  EXPECT_TRUE(remove_tree(dir_ + "/nothing-here").ok());
  std::ofstream(dir_ + "/plain") << "p";
  ASSERT_TRUE(remove_tree(dir_ + "/plain").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/plain"));
  fs::create_directories(dir_ + "/target");
  fs::create_directory_symlink(dir_ + "/target", dir_ + "/link");
  ASSERT_TRUE(remove_tree(dir_ + "/link").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(dir_ + "/link")));
  EXPECT_TRUE(fs::exists(dir_ + "/target"));
}

TEST_F(TreeRemove, AMountBelowOrAtThePathIsNeverEntered) {
  // A bind mount of a directory of the same filesystem: st_dev alone would not tell.
  const std::string tree = dir_ + "/tree", data = dir_ + "/data";
  fs::create_directories(tree + "/a/mnt");
  fs::create_directories(data);
  std::ofstream(data + "/keep") << "keep";
  std::ofstream(tree + "/a/file") << "x";
  ASSERT_EQ(::mount(data.c_str(), (tree + "/a/mnt").c_str(), nullptr, MS_BIND, nullptr), 0);
  auto st = remove_tree(tree);
  auto at = remove_tree(tree + "/a/mnt");
  ::umount2((tree + "/a/mnt").c_str(), MNT_DETACH);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind(), ErrorKind::kBusy);
  EXPECT_THAT(st.error().message(), ::testing::HasSubstr(tree + "/a/mnt"));
  ASSERT_FALSE(at.ok());
  EXPECT_EQ(at.error().kind(), ErrorKind::kBusy);
  EXPECT_TRUE(fs::exists(data + "/keep"));  // the mounted content is untouched
}

TEST_F(TreeRemove, AnEntryThatCannotBeRemovedIsNamed) {
  // procfs refuses every unlink: the error names the first entry, and nothing changes.
  auto st = remove_tree("/proc/self/fdinfo");
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message(), ::testing::HasSubstr("remove /proc/self/fdinfo/"));
  EXPECT_TRUE(fs::exists("/proc/self/fdinfo"));
}

}  // namespace
}  // namespace cells::backup
