// The pre-apply snapshot on real overlayfs mounts: take() is O(1) (a rename), discard() gives
// the old layer back byte for byte, and fold() merges a stack into one upper layer that shows
// exactly what the stack showed (new, changed and deleted files, replaced and opaque dirs).
#include <ftw.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <string>

#include "base/files.h"
#include "engine/snapshot.h"

namespace cells::engine {
namespace {

std::map<std::string, std::string>* g_view = nullptr;
size_t g_prefix = 0;

// path -> "type mode uid:gid content-or-target xattr"
std::map<std::string, std::string> view_of(const std::string& dir) {
  std::map<std::string, std::string> out;
  g_view = &out;
  g_prefix = dir.size();
  ::nftw(dir.c_str(), [](const char* p, const struct stat* st, int, struct FTW*) {
    std::string v = std::to_string(st->st_mode) + " " + std::to_string(st->st_uid) + ":" +
                    std::to_string(st->st_gid);
    if (S_ISREG(st->st_mode)) v += " " + read_file(p).value_or("?");
    if (S_ISLNK(st->st_mode)) {
      char buf[256] = {};
      ::readlink(p, buf, sizeof buf - 1);
      v += std::string(" -> ") + buf;
    }
    char x[64] = {};
    if (::lgetxattr(p, "user.tag", x, sizeof x - 1) > 0) v += std::string(" user.tag=") + x;
    (*g_view)[std::string(p).substr(g_prefix)] = v;
    return 0;
  }, 16, FTW_PHYS);
  return out;
}

class Snapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-snapshot-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    l_ = {dir_ + "/cell", dir_ + "/cell/overlay", dir_ + "/cell/work", dir_ + "/cell/root",
          dir_ + "/cell/snapshot"};
    base_ = dir_ + "/base";
    for (auto d : {base_ + "/etc", base_ + "/opt/sub", l_.overlay, l_.work, l_.root}) {
      ASSERT_TRUE(make_dirs(d, 0755).ok());
    }
    ASSERT_TRUE(write_file_atomic(base_ + "/etc/base.conf", "base\n").ok());
    ASSERT_TRUE(write_file_atomic(base_ + "/opt/sub/f", "f\n").ok());
    ASSERT_TRUE(write_file_atomic(base_ + "/opt/file-then-dir", "was a file\n").ok());
  }
  void TearDown() override {
    ::umount2(l_.root.c_str(), MNT_DETACH);
    ASSERT_EQ(std::system(("rm -rf " + dir_).c_str()), 0);
  }
  void mount_root() {
    std::string lower = ::access(l_.snapshot.c_str(), F_OK) == 0 ? l_.snapshot + ":" + base_ : base_;
    std::string opts = "lowerdir=" + lower + ",upperdir=" + l_.overlay + ",workdir=" + l_.work;
    ASSERT_EQ(::mount("overlay", l_.root.c_str(), "overlay", 0, opts.c_str()), 0) << strerror(errno);
  }
  void umount_root() { ASSERT_EQ(::umount2(l_.root.c_str(), 0), 0); }
  void sh(const std::string& cmd) { ASSERT_EQ(std::system(("cd " + l_.root + " && " + cmd).c_str()), 0) << cmd; }

  std::string dir_, base_;
  CellRootLayout l_;
};

TEST_F(Snapshot, DiscardRestoresTheLayerByteForByte) {
  mount_root();
  sh("echo one > etc/app.conf && chmod 0640 etc/app.conf && setfattr -n user.tag -v v1 etc/app.conf"
     " && mkdir -p var/www && echo page > var/www/index.html && rm etc/base.conf");
  auto before = view_of(l_.root);
  auto layer_before = view_of(l_.overlay);
  umount_root();

  ASSERT_TRUE(snapshot::take(l_).ok());
  mount_root();
  EXPECT_EQ(view_of(l_.root), before);  // the stack reads exactly as before
  sh("echo two > etc/app.conf && chmod 0600 etc/app.conf && rm -r var/www && touch new"
     " && echo back > etc/base.conf && chown 1:1 new");
  EXPECT_NE(view_of(l_.root), before);
  umount_root();

  ASSERT_TRUE(snapshot::discard(l_).ok());
  EXPECT_FALSE(snapshot::present(l_));
  EXPECT_EQ(view_of(l_.overlay), layer_before);
  mount_root();
  EXPECT_EQ(view_of(l_.root), before);
}

TEST_F(Snapshot, FoldMergesTheStackIntoOneLayer) {
  mount_root();
  sh("echo one > etc/app.conf && mkdir -p srv/a && echo a > srv/a/x");
  umount_root();
  ASSERT_TRUE(snapshot::take(l_).ok());
  mount_root();
  // Changes of every kind: new, changed, deleted (whiteout over both lowers), a removed and
  // re-created directory (opaque), a file replaced by a directory, attributes and xattrs.
  sh("echo two > etc/app.conf && rm etc/base.conf && rm -r srv/a && mkdir srv/a && echo b > srv/a/y"
     " && rm opt/file-then-dir && mkdir opt/file-then-dir && echo d > opt/file-then-dir/in"
     " && rm -r opt/sub && ln -s /nowhere link && chmod 0700 srv && setfattr -n user.tag -v t srv/a/y");
  auto stacked = view_of(l_.root);
  umount_root();

  ASSERT_TRUE(snapshot::fold(l_).ok());
  EXPECT_FALSE(snapshot::present(l_));
  mount_root();
  EXPECT_EQ(view_of(l_.root), stacked);
  umount_root();
  // Folding again is a no-op, and a fresh take/discard cycle still round-trips.
  ASSERT_TRUE(snapshot::fold(l_).ok());
  ASSERT_TRUE(snapshot::take(l_).ok());
  ASSERT_TRUE(snapshot::discard(l_).ok());
  mount_root();
  EXPECT_EQ(view_of(l_.root), stacked);
}

TEST_F(Snapshot, TakeRenamesTheLayerInsteadOfCopyingIt) {
  // 64 MiB in the layer: a copy would need a second inode and as many blocks again.
  ASSERT_EQ(std::system(("dd if=/dev/urandom of=" + l_.overlay + "/big bs=1M count=64 2>/dev/null").c_str()), 0);
  struct stat before {}, after {};
  ASSERT_EQ(::stat((l_.overlay + "/big").c_str(), &before), 0);
  ASSERT_TRUE(snapshot::take(l_).ok());
  ASSERT_EQ(::stat((l_.snapshot + "/big").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_nlink, 1u);
  EXPECT_EQ(view_of(l_.overlay).size(), 1u);  // only the fresh layer's top directory
  ASSERT_TRUE(snapshot::discard(l_).ok());
  ASSERT_EQ(::stat((l_.overlay + "/big").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
}

}  // namespace
}  // namespace cells::engine
