#include "base/process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "base/files.h"

namespace cells {
namespace {

TEST(RunProcess, CapturesStdoutStderrAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->status(), 3);
  EXPECT_EQ(r->describe(), "exit 3");
}

TEST(RunProcess, ReportsTheSignalThatEndedTheChild) {
  auto r = run_process({"sh", "-c", "kill -KILL $$"});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->signal, SIGKILL);
  EXPECT_EQ(r->status(), 128 + SIGKILL);
  EXPECT_EQ(r->describe(), "signal 9");
}

TEST(RunProcess, FeedsInputAndDefaultsStdinToDevNull) {
  auto fed = run_process({"cat"}, {.input = "line one\nline two\n"});
  ASSERT_TRUE(fed.ok());
  EXPECT_EQ(fed->out, "line one\nline two\n");
  EXPECT_TRUE(fed->ok());
  auto none = run_process({"cat"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->out, "");
}

// Both streams far beyond a pipe's 64 KiB buffer, and a large input the child reads only
// after writing: a runner that fills one stream while waiting on another would hang here.
TEST(RunProcess, LargeOutputOnBothStreamsDoesNotDeadlock) {
  std::string input(1 << 20, 'x');
  auto r = run_process({"sh", "-c", "head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; "
                                    "wc -c"},
                       {.input = input});
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out.size(), (1u << 20) + std::string("1048576\n").size());
  EXPECT_TRUE(r->out.ends_with("1048576\n"));
  EXPECT_EQ(r->err.size(), 1u << 20);
}

TEST(RunProcess, AddsAndReplacesEnvironmentEntries) {
  ::setenv("CELLS_PROCESS_TEST_KEEP", "kept", 1);
  ::setenv("CELLS_PROCESS_TEST_SET", "old", 1);
  auto r = run_process(
      {"sh", "-c", "echo $CELLS_PROCESS_TEST_KEEP $CELLS_PROCESS_TEST_SET $CELLS_PROCESS_TEST_NEW"},
      {.env = {"CELLS_PROCESS_TEST_SET=new", "CELLS_PROCESS_TEST_NEW=added"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "kept new added\n");
}

TEST(RunProcess, MergesStderrIntoStdoutInOrder) {
  auto r = run_process({"sh", "-c", "echo a; echo b >&2; echo c"}, {.merge_stderr = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "a\nb\nc\n");
  EXPECT_EQ(r->err, "");
}

TEST(RunProcess, NewSessionDetachesFromTheCallersSession) {
  // Field 6 of /proc/PID/stat is the session id; a session leader's equals its pid.
  const std::string leader = "test \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$ && echo leader || echo member";
  auto r = run_process({"sh", "-c", leader}, {.new_session = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "leader\n") << r->err;
  auto same = run_process({"sh", "-c", leader});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->out, "member\n") << same->err;
}

TEST(RunProcess, WritesToTheLogFileInsteadOfCapturing) {
  char tmpl[] = "/tmp/cells-process-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string log = std::string(tmpl) + "/log";
  ASSERT_TRUE(write_file_atomic(log, "stale text that must go\n").ok());
  auto r = run_process({"sh", "-c", "echo out; echo err >&2"}, {.log_path = log});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(*read_file(log), "out\nerr\n");
  std::filesystem::remove_all(tmpl);
}

// A background process that keeps stdout open must not hold the call until it ends.
TEST(RunProcess, ReturnsWhenTheChildExitsEvenIfItsDescendantsHoldTheStreams) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = run_process({"sh", "-c", "sleep 5 & echo $!"});
  ASSERT_TRUE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  const pid_t sleeper = std::atoi(r->out.c_str());
  ASSERT_GT(sleeper, 0) << r->out;
  ::kill(sleeper, SIGKILL);
}

TEST(RunProcess, AProgramThatCannotRunIsAnError) {
  auto r = run_process({"/nonexistent/cells-no-such-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(r.error().message(), "run /nonexistent/cells-no-such-program: No such file or directory");
  auto empty = run_process({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind(), ErrorKind::kInvalid);
}

// A caller killed while its child runs: with die_with_parent the child goes too; without it
// the child lives on. The caller is a forked copy of this test, so the test itself survives.
TEST(RunProcess, DieWithParentTakesTheChildWhenTheCallerIsKilled) {
  for (const bool die : {true, false}) {
    const std::string pid_file = ::testing::TempDir() + "/cells-process-child-" +
                                 std::to_string(::getpid()) + (die ? "-die" : "-live");
    ::unlink(pid_file.c_str());
    pid_t caller = ::fork();
    ASSERT_GE(caller, 0);
    if (caller == 0) {
      (void)run_process({"sh", "-c", "echo $$ > " + pid_file + "; exec sleep 30"},
                        {.die_with_parent = die});
      ::_exit(0);
    }
    pid_t child = 0;
    for (int i = 0; i < 500 && child == 0; ++i) {
      ::usleep(10 * 1000);
      child = std::atoi(read_file(pid_file).value_or("0").c_str());
    }
    ASSERT_GT(child, 0) << "the child never started";
    ::kill(caller, SIGKILL);
    ::waitpid(caller, nullptr, 0);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      // Dead: gone, or a zombie nobody reaped yet (field 3 of /proc/PID/stat is the state).
      const std::string stat = read_file("/proc/" + std::to_string(child) + "/stat").value_or("");
      const size_t paren = stat.rfind(')');
      gone = paren == std::string::npos || stat.substr(paren + 2, 1) == "Z";
      if (!gone) ::usleep(10 * 1000);
    }
    EXPECT_EQ(gone, die) << (die ? "the child outlived its killed caller"
                                 : "the child died without die_with_parent");
    ::kill(child, SIGKILL);
    ::unlink(pid_file.c_str());
  }
}

TEST(RunChecked, NamesTheProgramTheExitAndItsStderr) {
  EXPECT_TRUE(run_checked({"true"}).ok());
  auto s = run_checked({"sh", "-c", "echo 'first line' >&2; echo second >&2; exit 2"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kSystem);
  EXPECT_EQ(s.error().message(), "sh failed (exit 2): first line second");
}

}  // namespace
}  // namespace cells
