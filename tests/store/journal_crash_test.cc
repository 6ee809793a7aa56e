// A writer SIGKILLed at 200+ random moments never loses a committed entry and never leaves a
// journal that fails verify.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <random>
#include <set>

#include "store/store.h"
#include "tests/store/harness.h"

namespace cells::store {
namespace {

using testing::ScratchRoot;

// The child: appends operations (intent, then done, each its own durable commit) forever,
// writing each seq to FD only after its commit returned.
[[noreturn]] void append_forever(const Paths& paths, int fd) {
  auto s = Store::open(paths, OpenMode::kReadWrite);
  if (!s) _exit(2);
  for (uint64_t i = 0;; ++i) {
    auto op = s->begin_operation("crash.step", "cell/c" + std::to_string(i % 7));
    if (!op) _exit(3);
    for (Phase ph : {Phase::kIntent, Phase::kDone}) {
      auto seq = op->append({"crash.step", "cell/c" + std::to_string(i % 7), ph,
                             "before-" + std::to_string(i), "after-" + std::to_string(i)});
      if (!seq) _exit(4);
      uint64_t v = *seq;
      if (::write(fd, &v, sizeof v) != sizeof v) _exit(5);
    }
  }
}

TEST(JournalCrash, KilledWriterLosesNothingCommitted) {
  ScratchRoot root;
  std::mt19937 rng(std::random_device{}());
  std::set<uint64_t> committed;
  int kills = 0;
  const int kKills = 220;
  for (int round = 0; round < kKills; ++round) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(p[0]);
      append_forever(root.paths(), p[1]);
    }
    ::close(p[1]);
    // Kill at a random moment: sometimes during open, mostly mid-stream of commits.
    ::usleep(std::uniform_int_distribution<useconds_t>(0, 40'000)(rng));
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own with " << WEXITSTATUS(status);
    ++kills;
    uint64_t v;
    while (::read(p[0], &v, sizeof v) == sizeof v) committed.insert(v);
    ::close(p[0]);

    if (!std::filesystem::exists(root.state() + "/data.mdb")) continue;  // killed before create
    auto r = testing::cellmgr(root.dir(), {"journal", "verify"});
    ASSERT_EQ(r.exit_code, 0) << "after kill " << kills << ": " << r.out << r.err;
    auto s = Store::open(root.paths(), OpenMode::kReadOnly);
    if (!s && s.error().kind() == ErrorKind::kNotFound && committed.empty()) continue;
    ASSERT_TRUE(s.ok()) << s.error().message();
    auto rep = s->verify_journal();
    ASSERT_TRUE(rep.ok()) << rep.error().message();
    ASSERT_FALSE(rep->problem) << "after kill " << kills << ": seq " << rep->problem->seq << ": "
                               << rep->problem->what;
    auto head = *s->journal_head();
    if (!committed.empty()) {
      ASSERT_GE(head.last_seq, *committed.rbegin()) << "a committed entry was lost";
      for (uint64_t seq : {*committed.begin(), *committed.rbegin()}) {
        auto e = s->journal_entry(seq);
        ASSERT_TRUE(e.ok() && e->has_value()) << "committed seq " << seq << " missing";
      }
    }
  }
  EXPECT_GE(kills, 200);
  EXPECT_GT(committed.size(), 200u) << "the writer barely ran; the test proves little";
  // Every reported seq is present, exactly once, in order.
  auto s = *Store::open(root.paths(), OpenMode::kReadOnly);
  auto all = *s.list_journal({});
  std::set<uint64_t> present;
  for (const auto& e : all) present.insert(e.seq);
  for (uint64_t seq : committed) ASSERT_TRUE(present.count(seq)) << "lost seq " << seq;
  // Killed operations show up as incomplete (an intent without an outcome), never more than one
  // per kill.
  auto open = *s.incomplete_operations();
  EXPECT_LE(open.size(), static_cast<size_t>(kills));
  for (const auto& o : open) EXPECT_EQ(o.intent.phase, Phase::kIntent);
}

}  // namespace
}  // namespace cells::store
