// cellctl create/exec/destroy/list through the real binary: output formats, exit statuses,
// and bad input (one line on stderr, nothing left behind).
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/kernel/fixture.h"

namespace cells::kernel::testing {
namespace {
namespace fs = std::filesystem;

class CellctlTest : public RuntimeTest {
 protected:
  // Asserts a failed command: non-zero status, exactly one line on stderr starting with
  // "cellctl: " and containing WHAT, no new cgroup, registry record or cell process.
  void expect_refused(const std::vector<std::string>& args, const std::string& what) {
    auto before_cgroups = cgroups();
    auto before_records = registry_records();
    Captured c = cellctl(args);
    EXPECT_NE(c.status, 0) << c.out;
    EXPECT_EQ(c.err.rfind("cellctl: ", 0), 0u) << c.err;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
    EXPECT_NE(c.err.find(what), std::string::npos) << "stderr: " << c.err;
    EXPECT_EQ(cgroups(), before_cgroups);
    EXPECT_EQ(registry_records(), before_records);
  }
};

TEST_F(CellctlTest, CreateExecListDestroy) {
  std::string root = make_busybox_root();
  Captured created = cellctl({"create", "-l", "low", "-r", "28080,28081", "-r", "9090", "-N",
                              "1024", "-n", "web", root});
  ASSERT_EQ(created.status, 0) << created.err;
  EXPECT_EQ(created.out, "cell 1\n");

  // exec exits with the command's status and passes output through.
  Captured ex = cellctl({"exec", "web", "sh", "-c", "hostname; echo $$; exit 7"});
  EXPECT_EQ(ex.status, 7) << ex.err;
  EXPECT_EQ(ex.out.substr(0, 4), "web\n");
  EXPECT_GT(std::stoi(ex.out.substr(4)), 1);
  // Options after the target belong to the command.
  Captured ls = cellctl({"exec", "1", "ls", "-d", "/bin"});
  EXPECT_EQ(ls.status, 0) << ls.err;
  EXPECT_EQ(ls.out, "/bin\n");

  Captured table = cellctl({"list"});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_EQ(table.out.substr(0, table.out.find('\n')),
            "ID  NAME  REFS  PROCS  AGE  STATE  NOFILE  AS         CORE       ROOT");
  // Unsupervised: STATE is "-".
  EXPECT_NE(table.out.find("  -      1024    "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("1   web   1     0      "), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("1024    unlimited  unlimited  " + root), std::string::npos)
      << table.out;

  Captured tsv = cellctl({"list", "-T"});
  ASSERT_EQ(tsv.status, 0);
  EXPECT_EQ(tsv.out.substr(0, tsv.out.find('\n') + 1),
            "CID\tNAME\tREFS\tPROCS\tAGE\tROOT\tNOFILE\tAS\tCORE\n");
  Captured bare = cellctl({"list", "-T", "-H"});
  ASSERT_EQ(bare.status, 0);
  EXPECT_EQ(bare.out.rfind("1\tweb\t1\t0\t", 0), 0u) << bare.out;
  EXPECT_NE(bare.out.find("\t" + root + "\t1024\tunlimited\tunlimited\n"), std::string::npos);
  Captured json = cellctl({"list", "--json"});
  EXPECT_NE(json.out.find("\"name\": \"web\""), std::string::npos) << json.out;

  ASSERT_EQ(cellctl({"destroy", "web"}).status, 0);
  EXPECT_EQ(cellctl({"list"}).out, "no cells\n");
  EXPECT_EQ(cellctl({"list", "-T"}).out, "CID\tNAME\tREFS\tPROCS\tAGE\tROOT\tNOFILE\tAS\tCORE\n");
  EXPECT_EQ(cellctl({"list", "-T", "-H"}).out, "");
}

TEST_F(CellctlTest, DestroyNeedsForceWhileBusy) {
  std::string root = make_busybox_root();
  ASSERT_EQ(cellctl({"create", "-n", "web", root}).status, 0);
  ASSERT_EQ(cellctl({"exec", "web", "sh", "-c", "sleep 1000 >/dev/null 2>&1 &"}).status, 0);
  Captured busy = cellctl({"destroy", "web"});
  EXPECT_EQ(busy.status, 1);
  EXPECT_EQ(busy.err, "cellctl: cell web has 1 process; use --force\n");
  Captured forced = cellctl({"destroy", "--force", "web"});
  EXPECT_EQ(forced.status, 0) << forced.err;
  EXPECT_TRUE(cgroups().empty());
}

TEST_F(CellctlTest, BadInputIsRefusedWithOneLineAndChangesNothing) {
  std::string root = make_busybox_root();
  ASSERT_EQ(cellctl({"create", "-l", "low", "-r", "7000", "-n", "web", root}).status, 0);
  std::string file = scratch_ + "/plain-file";
  std::ofstream(file) << "x";

  expect_refused({"create", "-n", "bad/name", root}, "may only contain");
  expect_refused({"create", "-n", "bad name", root}, "may only contain");
  expect_refused({"create", "-n", std::string(64, 'a'), root}, "longer than 63");
  expect_refused({"create", "-n", "..", root}, "reserved");
  expect_refused({"create", "-n", "web", root}, "exists already");
  expect_refused({"create", "-r", "0", "-n", "db", root}, "port '0'");
  expect_refused({"create", "-r", "65536", "-n", "db", root}, "port '65536'");
  expect_refused({"create", "-r", "80,x", "-n", "db", root}, "port 'x'");
  expect_refused({"create", "-r", "80,80", "-n", "db", root}, "port 80 is given twice");
  std::string many;
  for (int p = 1; p <= 33; ++p) many += (many.empty() ? "" : ",") + std::to_string(1000 + p);
  expect_refused({"create", "-r", many, "-n", "db", root}, "at most 32");
  expect_refused({"create", "-r", "7000", "-n", "db", root},
                 "port 7000 is reserved by cell web (cid 1)");
  expect_refused({"create", "-n", "db", scratch_ + "/missing"}, "does not exist");
  expect_refused({"create", "-n", "db", file}, "is not a directory");
  expect_refused({"create", "-n", "db", "relative/root"}, "must be an absolute path");
  expect_refused({"create", "-l", "extreme", "-n", "db", root}, "unknown profile 'extreme'");
  expect_refused({"create", "-N", "lots", "-n", "db", root}, "-N nofile 'lots'");
  expect_refused({"create", root}, "--name is required");
  expect_refused({"exec", "nosuch", "true"}, "no cell named 'nosuch'");
  expect_refused({"exec", "99", "true"}, "no cell named '99'");
  expect_refused({"destroy", "nosuch"}, "no cell named 'nosuch'");
  expect_refused({"list", "-H"}, "requires --tsv");
  std::string linked = make_busybox_root();
  fs::create_directory_symlink("/etc", linked + "/dev");
  expect_refused({"create", "-n", "db", linked}, linked + "/dev is not a directory");
  // The store allocated exactly one cid: refused creates never reached it.
  ASSERT_EQ(cellctl({"create", "-l", "low", "-n", "db", root}).out, "cell 2\n");
}

}  // namespace
}  // namespace cells::kernel::testing
