#include "backup/entry_guard.h"

#include <gtest/gtest.h>

namespace cells::backup {
namespace {

void expect_refused(EntryGuard& g, std::string_view path, EntryType t, std::string_view link,
                    const std::string& part) {
  auto r = g.check(path, t, link);
  ASSERT_FALSE(r.ok()) << path;
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  EXPECT_NE(r.error().message().find(part), std::string::npos) << r.error().message();
}

TEST(EntryGuard, NormalisesNames) {
  EntryGuard g({});
  EXPECT_EQ(*g.check(".", EntryType::kDir), ".");
  EXPECT_EQ(*g.check("./", EntryType::kDir), ".");
  EXPECT_EQ(*g.check("./a//b/", EntryType::kDir), "a/b");
  EXPECT_EQ(*g.check("a/./c", EntryType::kFile), "a/c");
}

TEST(EntryGuard, RefusesTraversalAndAbsolutePaths) {
  EntryGuard g({});
  expect_refused(g, "../x", EntryType::kFile, "", "'..' component");
  expect_refused(g, "a/../../x", EntryType::kFile, "", "'..' component");
  expect_refused(g, "/etc/passwd", EntryType::kFile, "", "absolute path");
  expect_refused(g, "", EntryType::kFile, "", "empty path");
}

TEST(EntryGuard, Symlinks) {
  EntryGuard g({});
  EXPECT_TRUE(g.check("a/b/l1", EntryType::kSymlink, "../c").ok());       // a/c
  EXPECT_TRUE(g.check("a/l2", EntryType::kSymlink, "b/../../top").ok());  // top
  expect_refused(g, "a/l3", EntryType::kSymlink, "../../x", "points outside the target");
  expect_refused(g, "l4", EntryType::kSymlink, "/etc", "absolute");
  expect_refused(g, "a/l2/x", EntryType::kFile, "", "write through a symlink");
  expect_refused(g, "a/b/l1/deep/x", EntryType::kDir, "", "below the symlink 'a/b/l1'");
  // ".." applied to a symlink cannot be judged lexically.
  EXPECT_TRUE(g.check("dot", EntryType::kSymlink, ".").ok());
  expect_refused(g, "esc", EntryType::kSymlink, "dot/..", "applies '..' to the symlink 'dot'");
  expect_refused(g, "a/l2", EntryType::kFile, "", "replaces the earlier symlink 'a/l2'");
  expect_refused(g, "./", EntryType::kSymlink, "x", "names the target itself");
  EntryGuard overlay({.allow_absolute_symlinks = true});
  EXPECT_TRUE(overlay.check("usr/bin/sh", EntryType::kSymlink, "/bin/busybox").ok());
}

TEST(EntryGuard, HardLinks) {
  EntryGuard g({});
  EXPECT_TRUE(g.check("f", EntryType::kFile).ok());
  EXPECT_TRUE(g.check("d", EntryType::kDir).ok());
  EXPECT_TRUE(g.check("h", EntryType::kHardlink, "./f").ok());
  expect_refused(g, "h2", EntryType::kHardlink, "/etc/shadow", "absolute");
  expect_refused(g, "h3", EntryType::kHardlink, "../f", "'..' component");
  expect_refused(g, "h4", EntryType::kHardlink, "later", "does not name an earlier file");
  expect_refused(g, "h5", EntryType::kHardlink, "d", "does not name an earlier file");
  expect_refused(g, "h6", EntryType::kHardlink, "", "without a target");
}

TEST(EntryGuard, DevicesAndSockets) {
  EntryGuard g({});
  expect_refused(g, "null", EntryType::kCharDev, "", "device node");
  expect_refused(g, "sda", EntryType::kBlockDev, "", "device node");
  expect_refused(g, "s", EntryType::kSocket, "", "socket");
  EXPECT_TRUE(g.check("p", EntryType::kFifo).ok());
  EntryGuard allowed({.allow_devices = true});
  EXPECT_TRUE(allowed.check("null", EntryType::kCharDev).ok());
}

}  // namespace
}  // namespace cells::backup
