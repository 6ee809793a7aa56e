// The live database test of issue 7: a PostgreSQL in a cell (profile medium: the volume's
// owner is a plain host uid, with no user namespace to map, and postgres needs nothing
// medium forbids) keeps committing rows from a writer on the host (psql over TCP) while
// `cellmgr volume backup create` takes its volume. The archive is restored into a NEW volume
// used by a NEW cell; that PostgreSQL must start (crash recovery from the frozen image) and hold
// every row whose commit was acknowledged before the backup started.
#include <gmock/gmock.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>

#include "base/files.h"
#include "engine/rootfs_build.h"
#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";
constexpr uid_t kPgUid = 101;  // numeric ids as seen inside the cell (and on the host: medium)
constexpr gid_t kPgGid = 104;

class BackupPostgres : public ControlPlaneTest {
 protected:
  void TearDown() override {
    if (writer_ > 0) {
      ::kill(writer_, SIGKILL);
      ::waitpid(writer_, nullptr, 0);
    }
    ControlPlaneTest::TearDown();
  }

  // The cell's own /etc, written into its writable layer before the first start (the layer
  // is only seeded from the base when it has no /etc): the base knows root and nobody only,
  // and initdb and postgres look their user up by uid.
  void seed_etc(const std::string& cell) {
    const std::string etc = engine::cell_root_layout(*paths_, cell).overlay + "/etc";
    ASSERT_TRUE(make_dirs(etc).ok());
    const std::string base = paths_->base_dir() + "/host/etc/";
    for (const char* f : {"hosts", "nsswitch.conf"}) {
      ASSERT_TRUE(write_file_atomic(etc + "/" + f, read_file(base + f).value_or("")).ok());
    }
    ASSERT_TRUE(write_file_atomic(etc + "/passwd",
                                  read_file(base + "passwd").value_or("") +
                                      "postgres:x:101:104:PostgreSQL:/var/lib/postgresql:/bin/sh\n")
                    .ok());
    ASSERT_TRUE(
        write_file_atomic(etc + "/group", read_file(base + "group").value_or("") + "postgres:x:104:\n").ok());
  }

  void create_pg_cell(const std::string& cell, const std::string& vol, uint16_t port) {
    seed_etc(cell);
    const std::string data = "/var/lib/postgresql/data";
    const std::string p = std::to_string(port);
    // initdb inside the cell on first start (as the cell's postgres user), then postgres.
    // One `sh -c` word: the supervisor runs the service line as `exec <command>`.
    std::string cmd = "sh -c 'test -s " + data + "/PG_VERSION || " + kPgBin + "/initdb -D " +
                      data + " -U postgres --auth=trust -E UTF8 >/dev/null; exec " + kPgBin +
                      "/postgres -D " + data + " -p " + p +
                      " -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp'";
    Outcome c = cellmgr({"cell", "create", cell, "--profile", "medium", "--reserved-ports", p,
                         "--run-as", "uid:101:104", "--cmd", cmd, "--mount", vol + ":" + data});
    ASSERT_EQ(c.status, 0) << c.err;
  }

  Outcome psql(uint16_t port, const std::string& sql) {
    return host({"psql", "-h", "127.0.0.1", "-p", std::to_string(port), "-U", "postgres", "-d",
                 "postgres", "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql});
  }

  void wait_ready(uint16_t port) {
    Outcome r;
    for (int i = 0; i < 300; ++i) {
      r = psql(port, "select 1");
      if (r.status == 0) return;
      ::usleep(100 * 1000);
    }
    FAIL() << "postgres on port " << port << " not ready: " << r.err;
  }

  std::set<long> read_ids(const std::string& file) {
    std::set<long> out;
    std::istringstream in(read_file(file).value_or(""));
    for (long id; in >> id;) out.insert(id);
    return out;
  }

  pid_t writer_ = -1;
};

TEST_F(BackupPostgres, RestoredCopyHasEveryRowCommittedBeforeTheBackup) {
  struct stat st;
  if (::stat((std::string(kPgBin) + "/postgres").c_str(), &st) != 0) {
    GTEST_SKIP() << "postgresql 15 is not installed (tools/install-deps)";
  }
  auto t0 = std::chrono::steady_clock::now();
  bootstrap();
  const uint16_t port = free_port();
  ASSERT_EQ(cellmgr({"volume", "create", "pgdata", "-m", "0700", "--scope", "both"}).status, 0);
  ASSERT_EQ(::chown((paths_->volumes_dir() + "/pgdata").c_str(), kPgUid, kPgGid), 0);
  create_pg_cell("pg", "pgdata", port);
  Outcome start = cellmgr({"cell", "start", "pg"});
  ASSERT_EQ(start.status, 0) << start.err;
  wait_ready(port);
  ASSERT_EQ(psql(port, "create table t (id bigint primary key, pad text)").status, 0);

  // The writer: one autocommit insert per psql run; an id is logged only once psql reported
  // success, i.e. once the commit was acknowledged.
  const std::string log = scratch_ + "/committed.log";
  const std::string script =
      "i=0; while :; do i=$((i+1)); psql -h 127.0.0.1 -p " + std::to_string(port) +
      " -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 -c \"insert into t values ($i, repeat('x', 2000))\" "
      ">/dev/null 2>&1 && echo $i >> " + log + "; done";
  writer_ = ::fork();
  if (writer_ == 0) {
    ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 100 && read_ids(log).size() < 20; ++i) ::usleep(100 * 1000);
  const std::set<long> before = read_ids(log);
  ASSERT_GE(before.size(), 20u) << "the writer does not commit";

  Outcome made = cellmgr({"volume", "backup", "create", "pgdata"});
  ASSERT_EQ(made.status, 0) << made.err;
  EXPECT_THAT(made.out, HasSubstr("froze pg for "));
  const std::string archive = made.out.substr(8, made.out.find('\n') - 8);

  // Keep writing a little after the backup, so the source moved on.
  ::usleep(300 * 1000);
  ::kill(writer_, SIGKILL);
  ::waitpid(writer_, nullptr, 0);
  writer_ = -1;
  const std::set<long> all = read_ids(log);
  EXPECT_GT(all.size(), before.size());
  ASSERT_EQ(cellmgr({"cell", "stop", "pg"}).status, 0);

  // A new volume and a new cell from the archive.
  const uint16_t port2 = free_port();
  ASSERT_EQ(cellmgr({"volume", "create", "pgcopy", "-m", "0700"}).status, 0);
  Outcome restored = cellmgr({"volume", "backup", "restore", "pgcopy", "--from", archive, "--yes"});
  ASSERT_EQ(restored.status, 0) << restored.err;
  ASSERT_EQ(::stat((paths_->volumes_dir() + "/pgcopy/PG_VERSION").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kPgUid);
  create_pg_cell("pgcopy", "pgcopy", port2);
  Outcome start2 = cellmgr({"cell", "start", "pgcopy"});
  ASSERT_EQ(start2.status, 0) << start2.err;
  wait_ready(port2);

  Outcome rows = psql(port2, "select id from t order by id");
  ASSERT_EQ(rows.status, 0) << rows.err;
  std::set<long> present;
  std::istringstream in(rows.out);
  for (long id; in >> id;) present.insert(id);
  for (long id : before) EXPECT_TRUE(present.count(id)) << "row " << id << " committed before the backup is missing";
  // Nothing the writer never sent: every restored row was at least in flight.
  EXPECT_LE(*present.rbegin(), *all.rbegin() + 1);
  Outcome check = psql(port2, "select count(*) from t where length(pad) <> 2000");
  EXPECT_EQ(check.out, "0\n");
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("seconds", std::to_string(secs));
  std::printf("rows committed before the backup: %zu, restored: %zu, all acknowledged: %zu, %.1f s\n",
              before.size(), present.size(), all.size(), secs);
}

}  // namespace
}  // namespace cells::controlplane::testing
