#include "engine/mount_table.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>

#include "base/files.h"
#include "base/paths.h"
#include "engine/rootfs_build.h"

namespace cells::engine {
namespace {

using Points = std::vector<std::string>;

// A mkdtemp directory for one scenario, removed by the test process once the scenario's child
// has exited: its mounts were in the child's namespace and went with it, so only plain files
// and directories are left to remove.
class ScratchDir {
 public:
  explicit ScratchDir(const char* tmpl) : path_(tmpl) {
    if (!::mkdtemp(path_.data())) path_.clear();
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(MountTable, ParsesMountPointsAndDecodesEscapes) {
  const std::string text =
      "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
      "30 22 0:5 / /srv/with\\040space rw - tmpfs tmpfs rw\n"
      "short line\n"
      "\n"
      "31 22 0:6 / /last rw - tmpfs tmpfs rw";  // no final newline
  EXPECT_EQ(parse_mount_points(text), (Points{"/proc", "/srv/with space", "/last"}));
  EXPECT_EQ(parse_mount_points(""), Points{});
  EXPECT_EQ(unescape_mountinfo("/a\\011b\\134c"), "/a\tb\\c");
}

// In a child with its own mount namespace (the host's table is never touched): the answer
// follows every mount and unmount and the prefix match stops at path components. OWNER: the
// child owns the cache (its parent never used it), so the table must be read again only after
// a change; otherwise the child must never fill the cache at all.
std::string namespace_scenario(const std::string& dir, bool owner) {
  if (dir.empty()) return "mkdtemp";
  if (::unshare(CLONE_NEWNS) != 0) return "unshare: " + std::string(strerror(errno));
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make-rprivate";
  for (const char* d : {"/a", "/a/b", "/ab"}) ::mkdir((dir + d).c_str(), 0755);
  auto below = [&](const std::string& p) { return mounts_below(p).value_or(Points{"error"}); };
  auto tmpfs = [](const std::string& p) {
    return ::mount("t", p.c_str(), "tmpfs", 0, "size=64k") == 0;
  };

  const uint64_t inherited = mount_table_reads();
  if (below(dir) != Points{}) return "a fresh directory has mounts";
  const uint64_t reads = mount_table_reads();
  if (owner && reads != inherited + 1) return "the new namespace's table was not read";
  if (below(dir) != Points{} || mount_table_reads() != reads) return "re-read an unchanged table";
  if (!tmpfs(dir + "/a")) return "mount a";
  ::mkdir((dir + "/a/b").c_str(), 0755);
  if (!tmpfs(dir + "/a/b") || !tmpfs(dir + "/ab")) return "mount a/b, ab";
  if (below(dir) != Points{dir + "/a", dir + "/a/b", dir + "/ab"}) return "the three mounts";
  if (below(dir + "/a") != Points{dir + "/a", dir + "/a/b"}) return "a/ must not match ab";
  if (!is_mount_point(dir + "/a/b") || is_mount_point(dir) || is_mount_point(dir + "/none")) {
    return "is_mount_point is wrong about a/b, the directory or a missing path";
  }
  if (mount_table_reads() != reads + (owner ? 1 : 0)) return "not one read for the changed table";
  if (::umount2((dir + "/a/b").c_str(), 0) != 0) return "umount a/b";
  if (below(dir + "/a") != Points{dir + "/a"}) return "an unmount was missed";
  if (below(dir + "/nonexistent") != Points{}) return "a missing path has mounts";

  // The walk that remove_tree relies on finds mounts at any depth, on a file too, and
  // nothing beside a mount (ab is not below a).
  auto first = [](const std::string& p) {
    auto r = first_mount_at_or_below(p);
    return r ? r->value_or("none") : "error: " + r.error().message();
  };
  if (::umount2((dir + "/a").c_str(), 0) != 0) return "umount a";
  if (first(dir + "/a") != "none") return "a mount beside a was taken for one below it";
  if (first(dir + "/ab") != dir + "/ab") return "a mount on the directory itself was missed";
  if (first(dir + "/missing") != "none") return "a missing directory has a mount";
  ::umount2((dir + "/ab").c_str(), 0);
  if (first(dir) != "none") return "nothing is mounted, yet the walk found a mount";
  for (const char* d : {"/deep", "/deep/x", "/deep/x/y"}) ::mkdir((dir + d).c_str(), 0755);
  if (!tmpfs(dir + "/deep/x/y")) return "mount deep/x/y";
  if (first(dir) != dir + "/deep/x/y") return "a deep mount was missed";
  if (remove_tree(dir + "/deep").ok() || ::access((dir + "/deep/x").c_str(), F_OK) != 0) {
    return "remove_tree removed (part of) a tree with a mount in it";
  }
  ::umount2((dir + "/deep/x/y").c_str(), 0);
  for (const char* f : {"/file", "/other"})
    ::close(::open((dir + f).c_str(), O_CREAT | O_WRONLY, 0644));
  if (::mount((dir + "/other").c_str(), (dir + "/file").c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return "bind a file";
  }
  if (first(dir) != dir + "/file") return "a mount on a file was missed";
  ::umount2((dir + "/file").c_str(), 0);
  if (!remove_tree(dir + "/deep").ok() || ::access((dir + "/deep").c_str(), F_OK) == 0) {
    return "remove_tree refused a tree with nothing mounted";
  }
  if (!owner && mount_table_reads() != inherited) return "a child filled its parent's cache";
  return "";
}

// A cell root's tree comes from listmount, in an order whose reverse unmounts it, without a
// read of the table; unmount_cell_root also clears a mount stacked below the top one.
std::string tree_scenario(const std::string& dir) {
  if (dir.empty()) return "mkdtemp";
  if (::unshare(CLONE_NEWNS) != 0) return "unshare: " + std::string(strerror(errno));
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make-rprivate";
  auto paths = Paths::from_root(dir);
  if (!paths) return "paths: " + paths.error().message();
  const std::string root = cell_root_layout(*paths, "c").root;
  if (!make_dirs(root, 0755)) return "make the root";
  auto tmpfs = [](const std::string& p) {
    (void)::mkdir(p.c_str(), 0755);
    return ::mount("t", p.c_str(), "tmpfs", 0, "size=64k") == 0;
  };
  auto tree = [](const std::string& p) -> Points {
    auto r = mount_tree_at(p);
    if (!r) return {"error: " + r.error().message()};
    return r->value_or(Points{"no listmount"});
  };
  if (tree(root) == Points{"no listmount"}) return "";  // a kernel before 6.8: nothing to test
  if (tree(root) != Points{} || tree(root + "/missing") != Points{}) {
    return "an unmounted root has a tree";
  }
  if (!tmpfs(root) || !tmpfs(root + "/a") || !tmpfs(root + "/a/b") || !tmpfs(root + "/c")) {
    return "mount the tree";
  }
  const uint64_t reads = mount_table_reads();
  const Points got = tree(root);
  if (mount_table_reads() != reads) return "listing the tree read the table";
  auto at = [&](const std::string& p) {
    return std::find(got.begin(), got.end(), p) - got.begin();
  };
  if (got.size() != 4 || got.front() != root || at(root + "/a") > at(root + "/a/b") ||
      at(root + "/c") == 4) {
    std::string all;
    for (const auto& p : got) all += " " + p;
    return "the tree is wrong:" + all;
  }
  if (tree(root + "/a") != Points{root + "/a", root + "/a/b"}) return "the tree of a submount";
  if (!tmpfs(root)) return "stack a mount on the root";
  if (tree(root) != Points{root}) return "the top mount's tree shows what it covers";
  if (auto s = unmount_cell_root(*paths, "c"); !s) return "unmount: " + s.error().message();
  if (!mounts_below(dir).value_or(Points{"error"}).empty()) return "mounts left after unmount";
  return "";
}

// Runs SCENARIO in a forked child; its failure message, or "" when it passed.
template <typename Scenario>
std::string in_child(Scenario scenario) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe";
  pid_t pid = ::fork();
  if (pid < 0) return "fork";
  if (pid == 0) {
    std::string err = scenario();
    (void)!::write(fds[1], err.data(), err.size());
    ::_exit(err.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  char buf[256];
  ssize_t n = ::read(fds[0], buf, sizeof buf);
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "waitpid";
  std::string err(buf, size_t(std::max<ssize_t>(n, 0)));
  if (err.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) return "the child died";
  return err;
}

// gtest_discover_tests runs every test in a process of its own, so this process has not
// used the cache and the child owns it.
TEST(MountTable, FollowsMountsInAPrivateNamespaceAndRereadsOnlyAfterAChange) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
  ScratchDir dir("/tmp/cells-mount-table-XXXXXX");
  EXPECT_EQ(in_child([&] { return namespace_scenario(dir.path(), true); }), "");
}

// A forked child must not use (or poll) its parent's cached descriptor: after the parent has
// cached the table, the child still sees its own namespace's changes and caches nothing.
TEST(MountTable, AChildOfACachingProcessReadsItsOwnTable) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
  ASSERT_TRUE(mounts_below("/").ok());
  ASSERT_EQ(mount_table_reads(), 1u);
  ScratchDir dir("/tmp/cells-mount-table-XXXXXX");
  EXPECT_EQ(in_child([&] { return namespace_scenario(dir.path(), false); }), "");
}

TEST(MountTable, ListsACellRootsTreeWithoutTheTableAndUnmountsAStack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for a mount namespace";
  ScratchDir dir("/tmp/cells-mount-tree-XXXXXX");
  EXPECT_EQ(in_child([&] { return tree_scenario(dir.path()); }), "");
}

}  // namespace
}  // namespace cells::engine
