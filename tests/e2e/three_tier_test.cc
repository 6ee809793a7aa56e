// examples/three-tier end to end: every block of its README in order on a scratch root, with a
// writer of our own posting rows through nginx while the database volume is backed up. Every
// row whose POST was acknowledged before the backup started must be served after destroying
// everything, restoring the volume and applying again.
#include <gmock/gmock.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <sstream>

#include "base/files.h"
#include "tests/e2e/harness.h"

namespace cells::e2e::testing {
namespace {

using ::testing::HasSubstr;

// Ids in "id<TAB>body" lines (GET /api/rows) or bare "id" lines (the writer's log).
std::set<long> ids_in(const std::string& text) {
  std::set<long> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] >= '0' && line[0] <= '9') out.insert(std::stol(line));
  }
  return out;
}

class ThreeTier : public ExampleTest {
 protected:
  void TearDown() override {
    stop_writer();
    ExampleTest::TearDown();
  }
  // A shell loop in its own process group: one POST per curl, and the id logged only once
  // curl got the 201 (the app answers after the autocommit insert committed).
  void start_writer(const std::string& log) {
    const std::string script =
        "i=0; while :; do i=$((i+1)); id=$(curl -fsS -m 5 -d \"writer $i\" "
        "http://127.0.0.1:8080/api/rows) && echo \"$id\" >> " + log + "; done";
    writer_ = ::fork();
    if (writer_ == 0) {
      ::setpgid(0, 0);
      ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
      ::_exit(127);
    }
    ::setpgid(writer_, writer_);
  }
  void stop_writer() {
    if (writer_ <= 0) return;
    ::kill(-writer_, SIGKILL);
    ::waitpid(writer_, nullptr, 0);
    writer_ = -1;
  }
  pid_t writer_ = -1;
};

TEST_F(ThreeTier, RowsCommittedBeforeTheBackupSurviveDestroyAndRestore) {
  const auto t0 = std::chrono::steady_clock::now();
  load_example("three-tier");
  ASSERT_EQ(blocks_.size(), 7u) << "setup, apply, requests, backup, destroy, restore, clean up";

  // Apply: three cells, in dependency order, each healthy.
  Outcome up = run_block(1);
  ASSERT_EQ(up.status, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("summary: cells=3 changed=3 failed=0"));
  for (const char* cell : {"db ", "app ", "edge "}) {
    EXPECT_THAT(up.out, ::testing::ContainsRegex(std::string("\n") + cell + " *YES")) << cell;
  }

  // Requests through nginx write rows; the app's page in the ro webroot shows them.
  Outcome rows = run_block(2);
  ASSERT_EQ(rows.status, 0) << rows.out << rows.err;
  EXPECT_THAT(rows.out, HasSubstr("1\tfirst row\n2\tsecond row\n"));
  EXPECT_THAT(rows.out, HasSubstr("<p>rows stored: 2</p>"));

  // The backup, while our writer (and the README's own loop) keep posting.
  const std::string log = scratch_ + "/acknowledged.log";
  start_writer(log);
  std::set<long> before;
  for (int i = 0; i < 200 && before.size() < 20; ++i) {
    ::usleep(50 * 1000);
    before = ids_in(read_file(log).value_or(""));
  }
  ASSERT_GE(before.size(), 20u) << "the writer gets no acknowledgements";
  Outcome backup = run_block(3);
  ASSERT_EQ(backup.status, 0) << backup.out << backup.err;
  EXPECT_THAT(backup.out, HasSubstr("froze db for "));
  // The source moves on after the backup: wait (with a deadline, not a fixed sleep) for new
  // acknowledgements.
  std::set<long> all = before;
  for (int i = 0; i < 200 && all.size() < before.size() + 5; ++i) {
    ::usleep(50 * 1000);
    all = ids_in(read_file(log).value_or(""));
  }
  stop_writer();
  all = ids_in(read_file(log).value_or(""));
  EXPECT_GT(all.size(), before.size()) << "requests stopped flowing during the backup";

  // Destroy everything: no cell, no volume data, no manifest left.
  Outcome down = run_block(4);
  ASSERT_EQ(down.status, 0) << down.out << down.err;
  EXPECT_FALSE(http(8080, "GET", "/api/health", "", std::chrono::milliseconds(500)));
  EXPECT_TRUE(mounts_under_root().empty());
  EXPECT_FALSE(read_file(paths_->volumes_dir() + "/pgdata/PG_VERSION").ok());

  // Restore and apply again: every acknowledged row from before the backup is served.
  Outcome back = run_block(5);
  ASSERT_EQ(back.status, 0) << back.out << back.err;
  EXPECT_THAT(back.out, HasSubstr("Restored volume pgdata from "));
  EXPECT_THAT(back.out, HasSubstr("summary: cells=3 changed=3 failed=0"));
  EXPECT_THAT(back.out, HasSubstr("1\tfirst row\n2\tsecond row\n"));
  const std::set<long> served = ids_in(back.out.substr(back.out.find("summary: ")));
  ASSERT_FALSE(served.empty()) << back.out;
  size_t missing = 0;
  for (long id : before) {
    if (!served.count(id)) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "rows acknowledged before the backup are missing";
  // Nothing that was never sent: the newest served row was at most in flight at the end.
  EXPECT_LE(*served.rbegin(), *all.rbegin() + 60) << "rows appeared from nowhere";

  Outcome clean = run_block(6);
  ASSERT_EQ(clean.status, 0) << clean.out << clean.err;
  EXPECT_EQ(etc_snapshot().size(), 1u) << "only cellmgr.conf is left";
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("seconds", std::to_string(secs));
  std::printf("rows acknowledged before the backup: %zu, in all: %zu, served after restore: %zu, %.1f s\n",
              before.size(), all.size(), served.size(), secs);
}

}  // namespace
}  // namespace cells::e2e::testing
