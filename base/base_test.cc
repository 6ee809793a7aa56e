#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/error.h"
#include "base/files.h"
#include "base/helper_path.h"
#include "base/paths.h"
#include "base/result.h"
#include "base/syscall.h"
#include "base/text.h"

namespace cells {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return Error::invalid("value " + std::to_string(v) + " must be positive");
  return v;
}

Result<int> doubled(int v) {
  int x = CELLS_TRY_CTX(parse_positive(v), "doubling");
  return 2 * x;
}

Result<int> open_missing() {
  Fd fd = CELLS_SYSCALL_FD(::open("/nonexistent/cells", O_RDONLY), "open /nonexistent/cells");
  return fd.get();
}

TEST(Result, PropagatesErrorsWithContext) {
  EXPECT_EQ(*doubled(4), 8);
  auto r = doubled(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  EXPECT_EQ(r.error().message(), "doubling: value -1 must be positive");
}

TEST(Syscall, ErrnoBecomesKindAndMessage) {
  auto r = open_missing();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(r.error().sys_errno(), ENOENT);
  EXPECT_EQ(r.error().message(), "open /nonexistent/cells: No such file or directory");
}

TEST(Error, SysTextIsStrerrorsInTheCLocale) {
  // Error::sys takes the text from strerrordesc_np (no gettext); it must read as strerror did.
  for (int err : {ENOENT, EACCES, EPERM, EINVAL, ENOSPC, EHWPOISON}) {
    EXPECT_EQ(Error::sys(err, "op").message(), std::string("op: ") + std::strerror(err));
  }
  EXPECT_EQ(Error::sys(4242, "op").message(), "op: Unknown error 4242");
  EXPECT_EQ(Error::sys(-1, "op").message(), std::string("op: ") + std::strerror(-1));
}

TEST(Text, LinesKeepEmptyOnesAndEndAtTheFinalNewline) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(lines(""), V{});
  EXPECT_EQ(lines("a"), V{"a"});
  EXPECT_EQ(lines("a\n"), V{"a"});
  EXPECT_EQ(lines("a\n\nb"), (V{"a", "", "b"}));
  EXPECT_EQ(lines("\n"), V{""});
}

TEST(Fd, ClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    Fd a(raw);
    Fd b = std::move(a);
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed by b's destructor
}

TEST(Paths, RootIsRelocatableAndInstancesDiffer) {
  auto host = *Paths::from_root("/");
  EXPECT_EQ(host.etc_dir(), "/etc/cellmgr");
  EXPECT_EQ(host.instance(), "cells");
  auto a = *Paths::from_root("/tmp/a/");
  auto b = *Paths::from_root("/tmp/b");
  EXPECT_EQ(a.root, "/tmp/a");
  EXPECT_EQ(a.state_dir(), "/tmp/a/var/lib/cellmgr/state");
  EXPECT_NE(a.instance(), b.instance());
  EXPECT_EQ(a.cgroup_parent(), "/sys/fs/cgroup/unified/" + a.instance());
  EXPECT_FALSE(Paths::from_root("relative").ok());
}

TEST(Paths, EnvironmentGivesDefaultRoot) {
  ::setenv("CELLS_ROOT", "/srv/x", 1);
  EXPECT_EQ(Paths::from_root("")->root, "/srv/x");
  ::unsetenv("CELLS_ROOT");
  EXPECT_EQ(Paths::from_root("")->root, "/");
}

TEST(Files, AtomicWriteReplacesWholeFile) {
  auto dir = std::filesystem::temp_directory_path() / ("cells-base-" + std::to_string(getpid()));
  ASSERT_TRUE(make_dirs(dir.string() + "/a/b").ok());
  std::string p = dir.string() + "/a/b/f";
  ASSERT_TRUE(write_file_atomic(p, "one", 0600).ok());
  ASSERT_TRUE(write_file_atomic(p, "two!", 0600).ok());
  EXPECT_EQ(*read_file(p), "two!");
  struct stat st;
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(make_dirs(p + "/c").ok());  // a file is in the way
  std::filesystem::remove_all(dir);
}

TEST(InstalledHelper, LivesInLibexecOfTheProgramsPrefix) {
  EXPECT_EQ(installed_helper_path("cells-init", "/usr/sbin/cellmgr"), "/usr/libexec/cells/cells-init");
  EXPECT_EQ(installed_helper_path("cells-supervise", "/tmp/x/usr/sbin/cellctl"),
            "/tmp/x/usr/libexec/cells/cells-supervise");
  EXPECT_EQ(installed_helper_path("cells-init", "/sbin/cellmgr"), "/libexec/cells/cells-init");
  // Not a path with a directory: nothing to look up.
  EXPECT_EQ(installed_helper_path("cells-init", "cellmgr"), "");
  EXPECT_EQ(installed_helper_path("cells-init", "/cellmgr"), "");
  // Without EXE the running program is used: this test's own build directory's parent.
  auto self = std::filesystem::read_symlink("/proc/self/exe");
  EXPECT_EQ(installed_helper_path("h"), self.parent_path().parent_path().string() + "/libexec/cells/h");
}

}  // namespace
}  // namespace cells
