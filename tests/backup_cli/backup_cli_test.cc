// End-to-end: `cellmgr volume backup` and `cellmgr cell backup` on a scratch root with real
// cells: byte-exact round trips, the in-use guard and --stop, confirmation, bad input.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "engine/rootfs_build.h"
#include "tests/backup_cli/tree_walk.h"
#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

using backup_cli::testing::describe_tree;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class BackupCli : public ControlPlaneTest {
 protected:
  std::string volume(const std::string& name) const { return paths_->volumes_dir() + "/" + name; }
  std::string overlay(const std::string& cell) const {
    return engine::cell_root_layout(*paths_, cell).overlay;
  }

  // Content, owners, modes, xattrs, a hard link, a sparse file, a symlink, an empty dir.
  void fill_volume(const std::string& dir) {
    ASSERT_TRUE(make_dirs(dir + "/sub/empty").ok());
    ASSERT_TRUE(write_file_atomic(dir + "/a.txt", "alpha\n", 0640).ok());
    ASSERT_TRUE(write_file_atomic(dir + "/sub/b.bin", std::string(5000, 'b'), 0600).ok());
    ASSERT_EQ(::chown((dir + "/sub/b.bin").c_str(), 101, 104), 0);
    ASSERT_EQ(::chmod((dir + "/sub").c_str(), 02750), 0);
    ASSERT_EQ(::setxattr((dir + "/a.txt").c_str(), "user.tag", "v1", 2, 0), 0);
    ASSERT_EQ(::link((dir + "/a.txt").c_str(), (dir + "/sub/a-link").c_str()), 0);
    ASSERT_EQ(::symlink("../a.txt", (dir + "/sub/to-a").c_str()), 0);
    int fd = ::open((dir + "/sparse").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, "end", 3, 64 << 20), 3);
    ::close(fd);
  }

  // The one line a refusal prints, and that nothing else was printed.
  static void expect_one_line_error(const Outcome& r, const std::string& needle) {
    EXPECT_NE(r.status, 0);
    EXPECT_THAT(r.err, HasSubstr(needle));
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_THAT(r.err, StartsWith("cellmgr: "));
  }

  std::vector<std::string> archives(const std::string& noun, const std::string& name) {
    Outcome l = cellmgr({noun, "backup", "list", name, "-T", "-H"});
    EXPECT_EQ(l.status, 0) << l.err;
    std::vector<std::string> out;
    std::istringstream in(l.out);
    for (std::string line; std::getline(in, line);) out.push_back(line.substr(line.rfind('\t') + 1));
    return out;
  }
};

TEST_F(BackupCli, VolumeRoundTripIsExactAndListPruneDeleteWork) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "data", "-m", "0750", "--scope", "both"}).status, 0);
  fill_volume(volume("data"));
  const std::string before = describe_tree(volume("data"));
  ASSERT_THAT(before, HasSubstr("sparse=1"));

  Outcome made = cellmgr({"volume", "backup", "create", "data"});
  ASSERT_EQ(made.status, 0) << made.err;
  // Piped stdout: no progress bar, only the result lines.
  EXPECT_EQ(made.out.find('\r'), std::string::npos);
  EXPECT_THAT(made.out, HasSubstr("Created " + paths_->backups_dir() + "/volumes/data_"));
  EXPECT_THAT(made.out, HasSubstr("no running cell to freeze"));
  const std::string first = made.out.substr(8, made.out.find('\n') - 8);

  // Damage the data, then restore the newest backup (the default).
  ASSERT_EQ(::unlink((volume("data") + "/a.txt").c_str()), 0);
  ASSERT_TRUE(write_file_atomic(volume("data") + "/new", "x").ok());
  Outcome restored = cellmgr({"volume", "backup", "restore", "data", "--yes"});
  ASSERT_EQ(restored.status, 0) << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("Restored volume data from " + first));
  EXPECT_EQ(describe_tree(volume("data")), before);

  Outcome verify = cellmgr({"volume", "backup", "verify", "data"});
  EXPECT_EQ(verify.status, 0) << verify.err;
  EXPECT_THAT(verify.out, StartsWith("OK data_"));

  // Newest first, in the table, TSV and JSON forms.
  Outcome second = cellmgr({"volume", "backup", "create", "data", "--no-freeze"});
  ASSERT_EQ(second.status, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("not frozen (--no-freeze)"));
  auto listed = archives("volume", "data");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1], first);
  Outcome table = cellmgr({"volume", "backup", "list", "data"});
  EXPECT_THAT(table.out, StartsWith("VOLUME  TIMESTAMP"));
  Outcome tsv = cellmgr({"volume", "backup", "list", "data", "-T"});
  EXPECT_THAT(tsv.out, StartsWith("volume\ttimestamp\tsize\tarchive\ndata\t"));
  Outcome json = cellmgr({"volume", "backup", "list", "data", "--json"});
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[1]["archive"], first);
  EXPECT_EQ(parsed[0]["volume"], "data");
  EXPECT_EQ(parsed[0]["sha256"].get<std::string>().size(), 64u);

  Outcome prune = cellmgr({"volume", "backup", "prune", "data", "--keep", "1", "--yes"});
  ASSERT_EQ(prune.status, 0) << prune.err;
  EXPECT_EQ(prune.out, "Deleted " + first.substr(first.rfind('/') + 1) + "\n");
  ASSERT_EQ(archives("volume", "data").size(), 1u);
  Outcome del = cellmgr({"volume", "backup", "delete", "data", "--latest", "--yes"});
  ASSERT_EQ(del.status, 0) << del.err;
  EXPECT_TRUE(archives("volume", "data").empty());
  EXPECT_EQ(describe_tree(volume("data")), before);
}

TEST_F(BackupCli, CellOverlayRoundTripRefusedWhileRunningWorksWithStop) {
  bootstrap();
  ASSERT_EQ(cellmgr({"cell", "create", "app", "--profile", "medium", "--cmd",
                     // One sh -c word: the service line is run as `exec <command>`.
                     "sh -c 'test -f /var/tmp/state || echo one > /var/tmp/state; exec sleep 1000'"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "start", "app"}).status, 0);
  for (int i = 0; i < 50 && !read_file(overlay("app") + "/var/tmp/state").ok(); ++i) ::usleep(100000);
  ASSERT_EQ(read_file(overlay("app") + "/var/tmp/state").value_or(""), "one\n");

  // A running cell is frozen while its layer is read.
  Outcome made = cellmgr({"cell", "backup", "create", "app"});
  ASSERT_EQ(made.status, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("Created " + paths_->backups_dir() + "/overlays/app_"));
  EXPECT_THAT(made.out, HasSubstr("froze app for "));
  const std::string before = describe_tree(overlay("app"));

  Outcome changed = cellmgr({"cell", "shell", "app", "/bin/sh", "-c", "echo two > /var/tmp/state"});
  ASSERT_EQ(changed.status, 0) << changed.err;
  const std::string changed_tree = describe_tree(overlay("app"));
  ASSERT_NE(changed_tree, before);

  // In use: refused, nothing changed, the cell still runs.
  Outcome refused = cellmgr({"cell", "backup", "restore", "app", "--yes"});
  expect_one_line_error(refused, "cell app is in use by running cell(s) app (pass --stop");
  EXPECT_EQ(describe_tree(overlay("app")), changed_tree);
  Outcome running = cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"});
  EXPECT_EQ(running.out, "app\t1\n");

  Outcome restored = cellmgr({"cell", "backup", "restore", "app", "--stop", "--yes"});
  ASSERT_EQ(restored.status, 0) << restored.err;
  EXPECT_THAT(restored.out, HasSubstr("Restored cell app from "));
  running = cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"});
  EXPECT_EQ(running.out, "app\t1\n");
  Outcome state = cellmgr({"cell", "shell", "app", "/bin/cat", "/var/tmp/state"});
  EXPECT_EQ(state.out, "one\n");
  ASSERT_EQ(cellmgr({"cell", "stop", "app"}).status, 0);
  // The overlay's upper dir gets overlayfs' own bookkeeping while mounted; compare the data.
  EXPECT_EQ(read_file(overlay("app") + "/var/tmp/state").value_or(""), "one\n");
}

TEST_F(BackupCli, VolumeInUseIsRefusedUntilStopAndTheCellComesBack) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "shared", "--scope", "both"}).status, 0);
  ASSERT_TRUE(write_file_atomic(volume("shared") + "/f", "v1\n").ok());
  ASSERT_EQ(cellmgr({"cell", "create", "user", "--profile", "medium", "--cmd", "exec sleep 1000",
                     "--mount", "shared:/data"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "start", "user"}).status, 0);
  Outcome made = cellmgr({"volume", "backup", "create", "shared"});
  ASSERT_EQ(made.status, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("froze user for "));
  ASSERT_TRUE(write_file_atomic(volume("shared") + "/f", "v2\n").ok());

  expect_one_line_error(cellmgr({"volume", "backup", "restore", "shared", "--yes"}),
                        "volume shared is in use by running cell(s) user");
  EXPECT_EQ(read_file(volume("shared") + "/f").value_or(""), "v2\n");

  Outcome restored = cellmgr({"volume", "backup", "restore", "shared", "--stop", "--yes"});
  ASSERT_EQ(restored.status, 0) << restored.err;
  EXPECT_EQ(read_file(volume("shared") + "/f").value_or(""), "v1\n");
  Outcome seen = cellmgr({"cell", "shell", "user", "/bin/cat", "/data/f"});
  EXPECT_EQ(seen.out, "v1\n");
  ASSERT_EQ(cellmgr({"cell", "stop", "user"}).status, 0);
}

TEST_F(BackupCli, BadInputIsOneLineAndChangesNothing) {
  bootstrap();
  ASSERT_EQ(cellmgr({"volume", "create", "data", "--scope", "both"}).status, 0);
  ASSERT_TRUE(write_file_atomic(volume("data") + "/f", "keep\n").ok());
  ASSERT_EQ(cellmgr({"cell", "create", "app", "--profile", "medium", "--cmd", "sleep 1"}).status, 0);
  Outcome made = cellmgr({"volume", "backup", "create", "data"});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string path = made.out.substr(8, made.out.find('\n') - 8);
  const std::string file = path.substr(path.rfind('/') + 1);
  ASSERT_TRUE(write_file_atomic(volume("data") + "/f", "changed\n").ok());
  const std::string tree = describe_tree(volume("data"));
  const std::string store_before = describe_tree(paths_->backups_dir());

  // No terminal and no --yes: refused before anything happens.
  expect_one_line_error(cellmgr({"volume", "backup", "restore", "data"}),
                        "needs confirmation: pass --yes");
  expect_one_line_error(cellmgr({"volume", "backup", "delete", "data"}),
                        "needs confirmation: pass --yes");
  expect_one_line_error(cellmgr({"volume", "backup", "prune", "data", "--keep", "0"}),
                        "needs confirmation: pass --yes");
  // Unknown names, a missing archive, the wrong kind (by file name and by path).
  expect_one_line_error(cellmgr({"volume", "backup", "create", "nosuch"}), "no volume named nosuch");
  expect_one_line_error(cellmgr({"volume", "backup", "restore", "nosuch", "--yes"}),
                        "no volume named nosuch");
  expect_one_line_error(cellmgr({"cell", "backup", "create", "ghost"}), "no cell named ghost");
  expect_one_line_error(
      cellmgr({"volume", "backup", "restore", "data", "--from", "data_20000101000000.tar.zst", "--yes"}),
      "no volume backup data_20000101000000.tar.zst");
  expect_one_line_error(
      cellmgr({"volume", "backup", "restore", "data", "--from", "/nowhere/x.tar.zst", "--yes"}),
      "no archive /nowhere/x.tar.zst");
  expect_one_line_error(cellmgr({"cell", "backup", "restore", "app", "--from", file, "--yes"}),
                        "is a volume backup, not an overlay (cell) backup");
  expect_one_line_error(cellmgr({"cell", "backup", "restore", "app", "--from", path, "--yes"}),
                        "is a volume backup, not an overlay backup");
  expect_one_line_error(cellmgr({"volume", "backup", "restore", "data", "--from", file, "--latest", "--yes"}),
                        "either --from ARCHIVE or --latest");
  expect_one_line_error(cellmgr({"cell", "backup", "restore", "app", "--yes"}), "no backups of cell app");

  EXPECT_EQ(describe_tree(volume("data")), tree);
  EXPECT_EQ(describe_tree(paths_->backups_dir()), store_before);
  struct stat st;
  EXPECT_NE(::stat(overlay("app").c_str(), &st), 0) << "a refused restore created the overlay";
}

}  // namespace
}  // namespace cells::controlplane::testing
