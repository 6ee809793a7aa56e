#include "store/store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/files.h"
#include "store/test_support.h"

namespace cells::store {
namespace {

using testing::ScratchRoot;

Store open_rw(const ScratchRoot& r) {
  auto s = Store::open(r.paths(), OpenMode::kReadWrite);
  EXPECT_TRUE(s.ok()) << s.error().message();
  return std::move(*s);
}

EntryDraft draft(std::string kind, std::string target, Phase phase, std::string after = "") {
  return {std::move(kind), std::move(target), phase, "", std::move(after)};
}

TEST(StoreOpen, ReadOnlyOnFreshRootIsNotFoundAndCreatesNothing) {
  ScratchRoot r;
  auto s = Store::open(r.paths(), OpenMode::kReadOnly);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(s.error().message(), "no store at " + r.paths().state_dir());
  EXPECT_TRUE(std::filesystem::is_empty(r.dir()));
}

TEST(StoreOpen, ReadWriteCreatesThenReadOnlyOpens) {
  ScratchRoot r;
  { Store s = open_rw(r); }
  struct stat st;
  ASSERT_EQ(::stat(r.paths().state_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto ro = Store::open(r.paths(), OpenMode::kReadOnly);
  ASSERT_TRUE(ro.ok()) << ro.error().message();
  auto cid = ro->allocate_cid();
  ASSERT_FALSE(cid.ok());
  EXPECT_EQ(cid.error().kind(), ErrorKind::kInvalid);
}

TEST(StoreOpen, InterruptedCreationReadsAsNoStoreAndIsFinishedByAWriter) {
  ScratchRoot r;
  ASSERT_TRUE(make_dirs(r.paths().state_dir(), 0700).ok());
  { Env env = *Env::open(r.paths().state_dir(), {}); }  // the env exists, nothing committed
  auto ro = Store::open(r.paths(), OpenMode::kReadOnly);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.error().kind(), ErrorKind::kNotFound) << ro.error().message();
  Store s = open_rw(r);
  EXPECT_EQ(*s.allocate_cid(), 1u);
}

TEST(StoreCid, MonotonicFromOneAndDurableAcrossReopen) {
  ScratchRoot r;
  {
    Store s = open_rw(r);
    EXPECT_EQ(*s.allocate_cid(), 1u);
    EXPECT_EQ(*s.allocate_cid(), 2u);
  }
  Store s = open_rw(r);
  EXPECT_EQ(*s.allocate_cid(), 3u);
}

TEST(StoreJournal, AppendsChainAndVerify) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("cell.create", "cell/web");
  EXPECT_EQ(op.id(), 1u);
  EXPECT_EQ(*op.append(draft("cell.create", "cell/web", Phase::kIntent)), 1u);
  EXPECT_EQ(*op.append(draft("cell.create", "cell/web", Phase::kDone, "after")), 2u);
  auto seqs = *op.append_batch({draft("a", "cell/db", Phase::kIntent),
                                draft("a", "cell/db", Phase::kDone)});
  EXPECT_EQ(seqs, (std::vector<uint64_t>{3, 4}));

  auto e1 = **s.journal_entry(1);
  auto e2 = **s.journal_entry(2);
  EXPECT_EQ(e1.prev_hash, Hash{});
  EXPECT_EQ(e2.prev_hash, e1.hash);
  EXPECT_EQ(e2.after, "after");
  EXPECT_EQ(e2.operation_id, 1u);
  EXPECT_EQ(e2.actor.pid, ::getpid());
  EXPECT_EQ(e2.actor.uid, ::getuid());
  EXPECT_FALSE(e2.actor.command_line.empty());
  EXPECT_GT(e2.time_ns, 0);
  EXPECT_EQ(*s.journal_entry(5), std::nullopt);

  auto head = *s.journal_head();
  EXPECT_EQ(head.last_seq, 4u);
  EXPECT_EQ(head.last_hash, (*s.journal_entry(4))->hash);
  auto rep = *s.verify_journal();
  EXPECT_EQ(rep.entries, 4u);
  EXPECT_FALSE(rep.problem.has_value());
}

TEST(StoreJournal, OperationIdsAreNeverReused) {
  ScratchRoot r;
  Store s = open_rw(r);
  uint64_t first;
  {
    Operation op = *s.begin_operation("x", "");
    first = op.id();
    ASSERT_TRUE(op.append(draft("x", "", Phase::kDone)).ok());
  }
  Operation op2 = *s.begin_operation("y", "");
  EXPECT_EQ(op2.id(), first + 1);
  EXPECT_EQ((*s.operation_entries(first)).size(), 1u);
}

TEST(StoreJournal, ListFilters) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("mixed", "");
  ASSERT_TRUE(op.append_batch({draft("cell.create", "cell/web", Phase::kDone),
                               draft("cell.create", "cell/webby", Phase::kDone),
                               draft("volume.create", "volume/data", Phase::kDone),
                               draft("cell.start", "cell/web/service", Phase::kDone)})
                  .ok());
  auto by_cell = *s.list_journal({.cell = "web"});
  ASSERT_EQ(by_cell.size(), 2u);
  EXPECT_EQ(by_cell[0].seq, 1u);
  EXPECT_EQ(by_cell[1].seq, 4u);
  EXPECT_EQ((*s.list_journal({.kind = "cell"})).size(), 3u);
  EXPECT_EQ((*s.list_journal({.kind = "cell.create"})).size(), 2u);
  auto last2 = *s.list_journal({.limit = 2});
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0].seq, 3u);
  EXPECT_EQ((*s.list_journal({.since_ns = last2[1].time_ns + 1})).size(), 0u);
}

TEST(StoreJournal, IncompleteOperationsAreFound) {
  ScratchRoot r;
  Store s = open_rw(r);
  {
    Operation done = *s.begin_operation("apply", "cell/a");
    ASSERT_TRUE(done.append(draft("apply", "cell/a", Phase::kIntent)).ok());
    ASSERT_TRUE(done.append(draft("apply", "cell/a", Phase::kDone)).ok());
  }
  uint64_t open_id;
  {
    Operation crashed = *s.begin_operation("apply", "cell/b");
    open_id = crashed.id();
    ASSERT_TRUE(crashed.append(draft("apply", "cell/b", Phase::kIntent)).ok());
  }
  {
    Operation comp = *s.begin_operation("restore", "volume/v");
    ASSERT_TRUE(comp.append(draft("restore", "volume/v", Phase::kIntent)).ok());
    ASSERT_TRUE(comp.append(draft("restore", "volume/v", Phase::kCompensated)).ok());
  }
  auto open = *s.incomplete_operations();
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].operation_id, open_id);
  EXPECT_EQ(open[0].intent.target, "cell/b");
  EXPECT_EQ(open[0].intent.seq, 3u);
}

TEST(StoreJournal, RecoveryClosesAnAbandonedOperationInItsName) {
  ScratchRoot r;
  Store s = open_rw(r);
  uint64_t killed_id;
  {
    Operation killed = *s.begin_operation("backup.restore", "volume/v");
    killed_id = killed.id();
    ASSERT_TRUE(killed.append(draft("backup.restore", "volume/v", Phase::kIntent)).ok());
  }
  Operation rec = *s.begin_operation("backup.recover", "backups");
  // Only outcomes close, and only an operation that is open.
  auto intent = rec.close_abandoned(killed_id, draft("backup.restore", "volume/v", Phase::kIntent));
  ASSERT_FALSE(intent.ok());
  EXPECT_EQ(intent.error().kind(), ErrorKind::kInvalid);
  EXPECT_EQ(s.incomplete_operations()->size(), 1u);
  ASSERT_TRUE(rec.close_abandoned(killed_id, draft("backup.restore", "volume/v", Phase::kFailed)).ok());
  EXPECT_TRUE(s.incomplete_operations()->empty());
  auto entries = *s.operation_entries(killed_id);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].phase, Phase::kFailed);
  auto again = rec.close_abandoned(killed_id, draft("backup.restore", "volume/v", Phase::kFailed));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::kInvalid);
  // The recovering operation's own id stays reserved: the next one gets a fresh id.
  ASSERT_TRUE(rec.append(draft("backup.recover", "backups", Phase::kDone)).ok());
  EXPECT_EQ((*s.operation_entries(rec.id())).size(), 1u);
  EXPECT_FALSE(s.verify_journal()->problem.has_value());
}

DesiredState sample_state() {
  CellManifest web;
  web.name = "web";
  web.autostart = true;
  web.profile = "service";
  web.reserved_ports = {80, 443};
  web.command = {"/usr/sbin/httpd", "-f"};
  web.run_as = "cell:www";
  web.rlimits = {1024, 1 << 30, 0};
  web.depends_on = {"db"};
  web.healthcheck = {{"/bin/true"}, 1000, 5000, 3};
  web.log = {"daemon", "info", "err", "web"};
  web.mounts = {{MountSpec::Source::kVolume, "data", "/srv", false},
                {MountSpec::Source::kHostPath, "/etc/ssl", "/etc/ssl", true}};
  web.base = "host";
  web.manifest_text = "name = \"web\"\n";
  CellManifest db;
  db.name = "db";
  return {{web, db}, {{"data", "size = 1G"}}, {{"web", "copy a b", {{"a", sha256("x")}}}}};
}

TEST(StoreGenerations, CommitIsJournaledAndRoundTrips) {
  ScratchRoot r;
  Store s = open_rw(r);
  EXPECT_EQ(*s.current_generation(), 0u);
  DesiredState st = sample_state();
  Operation op = *s.begin_operation("apply", "");
  EXPECT_EQ(*op.commit_generation(st), 1u);
  st.cells[1].autostart = true;
  EXPECT_EQ(*op.commit_generation(st), 2u);
  EXPECT_EQ(*s.current_generation(), 2u);

  auto g1 = **s.generation(1);
  EXPECT_EQ(g1.number, 1u);
  EXPECT_EQ(g1.operation_id, op.id());
  // Stored sorted by name: db before web.
  ASSERT_EQ(g1.desired.cells.size(), 2u);
  EXPECT_EQ(g1.desired.cells[0].name, "db");
  EXPECT_EQ(g1.desired.cells[1], sample_state().cells[0]);
  EXPECT_EQ(g1.desired.volumes, sample_state().volumes);
  EXPECT_EQ(g1.desired.plans, sample_state().plans);
  EXPECT_FALSE((**s.generation(1)).desired.cells[0].autostart);  // generation 1 is unchanged
  EXPECT_TRUE((**s.generation(2)).desired.cells[0].autostart);
  EXPECT_EQ(*s.generation(3), std::nullopt);

  auto entries = *s.list_journal({.kind = "generation"});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].target, "generation/2");
  EXPECT_EQ(entries[1].before, "1");
  EXPECT_EQ(entries[1].after, "2");
  EXPECT_FALSE((*s.verify_journal()).problem);
}

// Drift reads one cell from the generation last applied to it. The lookup agrees with the
// full decode for every cell (a generation this size is read in place from the map, the small
// one below is copied), finds the cell's plan, and answers nullopt for what is not there.
TEST(StoreGenerations, OneCellIsReadWithoutDecodingTheRest) {
  ScratchRoot r;
  Store s = open_rw(r);
  DesiredState big = sample_state();
  for (int i = 0; i < 300; ++i) {
    CellManifest c;
    c.name = "c" + std::to_string(i);  // unpadded: c10 sorts before c2
    c.command = {"sleep", std::to_string(i)};
    c.manifest_text = "name = \"" + c.name + "\"\n";
    big.cells.push_back(std::move(c));
  }
  big.plans.push_back({"c17", "copy b c", {}});
  Operation op = *s.begin_operation("apply", "cells");
  ASSERT_EQ(*op.commit_generation(big), 1u);
  ASSERT_EQ(*op.commit_generation(sample_state()), 2u);

  for (uint64_t n : {1u, 2u}) {
    auto g = **s.generation(n);
    for (const auto& c : g.desired.cells) {
      auto one = s.generation_cell(n, c.name);
      ASSERT_TRUE(one.ok()) << one.error().message();
      ASSERT_TRUE(one->has_value()) << c.name << " in generation " << n;
      EXPECT_EQ((*one)->manifest, c);
      std::optional<ApplyPlan> plan;
      for (const auto& p : g.desired.plans) {
        if (p.cell == c.name) plan = p;
      }
      EXPECT_EQ((*one)->plan, plan) << c.name;
    }
  }
  EXPECT_EQ((**s.generation_cell(1, "c17")).plan->text, "copy b c");
  EXPECT_EQ((**s.generation_cell(2, "web")).plan, sample_state().plans[0]);
  EXPECT_EQ((**s.generation_cell(2, "db")).plan, std::nullopt);
  for (const char* absent : {"", "a", "c", "c3000", "zzz"}) {
    EXPECT_EQ(*s.generation_cell(1, absent), std::nullopt) << absent;
  }
  EXPECT_EQ(*s.generation_cell(2, "c17"), std::nullopt);  // generation 2 dropped it
  EXPECT_EQ(*s.generation_cell(3, "web"), std::nullopt);  // no generation 3
  EXPECT_EQ(*s.generation_cell(0, "web"), std::nullopt);
}

// Format 2 writes only what changed, so a generation is read from each item's newest version
// at or before it. Names that prefix one another (c1, c1-a, c10) and a cell changed by every
// generation (more versions than the reader scans before it seeks) read back as committed.
TEST(StoreGenerations, EveryGenerationReadsBackAsCommitted) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("apply", "cells");
  std::vector<DesiredState> committed;
  DesiredState st;
  for (const char* n : {"c1", "c1-a", "c10", "web"}) {
    CellManifest c;
    c.name = n;
    st.cells.push_back(c);
  }
  for (int g = 1; g <= 12; ++g) {
    st.cells.back().command = {"serve", std::to_string(g)};  // web (last) changes every time
    if (g == 5) st.cells.erase(st.cells.begin() + 1);    // c1-a goes
    if (g == 8) st.volumes.push_back({"data", "v"});
    if (g == 9) st.plans.push_back({"c10", "copy a b", {}});
    if (g == 11) st.plans.clear();
    if (g == 12) st.cells.insert(st.cells.begin() + 1, CellManifest{.name = "c1-a"});  // back
    auto cur = s.generation(g - 1);
    ASSERT_TRUE(cur.ok()) << cur.error().message();
    ASSERT_EQ(*op.commit_generation(st, {}, *cur ? &**cur : nullptr), uint64_t(g));
    committed.push_back(st);
  }
  for (int g = 1; g <= 12; ++g) {
    auto got = **s.generation(g);
    EXPECT_EQ(got.desired, committed[g - 1]) << "generation " << g;
    auto web = **s.generation_cell(g, "web");
    EXPECT_EQ(web.manifest.command[1], std::to_string(g));
    EXPECT_EQ((*s.generation_cell(g, "c1-a")).has_value(), g < 5 || g == 12) << g;
    EXPECT_EQ((**s.generation_cell(g, "c10")).plan.has_value(), g == 9 || g == 10) << g;
    EXPECT_EQ((**s.generation_summary(g)).cells, committed[g - 1].cells.size());
  }
}

// Only what can be addressed is stored: an item without a name, with a NUL in it, or named
// twice is refused, as is a "current" generation that is not the store's. Nothing is written.
TEST(StoreGenerations, BadItemsAndAStaleCurrentAreRefused) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("apply", "cells");
  ASSERT_EQ(*op.commit_generation(sample_state()), 1u);
  auto head = *s.journal_head();
  auto refused = [&](DesiredState st, const std::string& what, const Generation* cur = nullptr) {
    auto g = op.commit_generation(st, {}, cur);
    ASSERT_FALSE(g.ok()) << what;
    EXPECT_EQ(g.error().kind(), ErrorKind::kInvalid) << g.error().message();
    EXPECT_NE(g.error().message().find(what), std::string::npos) << g.error().message();
    EXPECT_EQ(*s.current_generation(), 1u);
    EXPECT_EQ((*s.journal_head()).last_seq, head.last_seq);
  };
  DesiredState twice = sample_state();
  twice.cells.push_back(twice.cells[0]);
  refused(twice, "cell web appears twice");
  DesiredState unnamed = sample_state();
  unnamed.volumes.push_back({"", "x"});
  refused(unnamed, "a volume has no name");
  DesiredState nul = sample_state();
  nul.plans[0].cell = std::string("we\0b", 4);
  refused(nul, "a plan name holds a NUL byte");
  Generation stale{0, 0, 0, {}};
  refused(sample_state(), "the caller's current generation is 0, the store's 1", &stale);
  EXPECT_EQ((**s.generation(1)).desired.cells.size(), 2u);
}

// An edit's outcome rides in the generation's own transaction: both entries, in order, with
// the number the outcome was made from, and the operation is no longer open.
TEST(StoreGenerations, OutcomeCommitsWithTheGeneration) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("volume.create", "volume/v");
  ASSERT_TRUE(op.append({"volume.create", "volume/v", Phase::kIntent, "", ""}).ok());
  ASSERT_EQ((*s.incomplete_operations()).size(), 1u);
  auto gen = op.commit_generation(sample_state(), [](uint64_t n) {
    return EntryDraft{"volume.create", "volume/v", Phase::kDone, "", "generation " + std::to_string(n)};
  });
  ASSERT_TRUE(gen.ok()) << gen.error().message();
  EXPECT_EQ(*gen, 1u);
  auto entries = *s.list_journal({});
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[1].kind, "generation.commit");
  EXPECT_EQ(entries[2].kind, "volume.create");
  EXPECT_EQ(entries[2].phase, Phase::kDone);
  EXPECT_EQ(entries[2].after, "generation 1");
  EXPECT_TRUE((*s.incomplete_operations()).empty());
  EXPECT_FALSE((*s.verify_journal()).problem);
}

TEST(StoreRuntime, PutIsJournaledWithBeforeImage) {
  ScratchRoot r;
  Store s = open_rw(r);
  Operation op = *s.begin_operation("start", "cell/web");
  RuntimeCell rc{"web", 7, 1234, 99, 5, 1, "policy", {1, true, 0, "ok"}};
  ASSERT_TRUE(op.put_runtime(rc).ok());
  rc.supervisor_pid = 100;
  ASSERT_TRUE(op.put_runtime(rc).ok());
  EXPECT_EQ(**s.runtime("web"), rc);
  EXPECT_EQ(*s.runtime("nope"), std::nullopt);
  EXPECT_EQ((*s.runtimes()).size(), 1u);
  auto entries = *s.list_journal({.cell = "web"});
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_TRUE(entries[0].before.empty());
  EXPECT_EQ(entries[1].before, entries[0].after);
  auto bad = op.put_runtime(RuntimeCell{});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalid);
  EXPECT_EQ((*s.list_journal({})).size(), 2u);  // the refused write changed nothing
}

// Forks a child that opens the store, begins an operation and then waits to be killed (or, with
// HOLD_MS, exits after that long). Returns its pid once it holds the lock.
pid_t spawn_holder(const ScratchRoot& r, int hold_ms) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    auto s = Store::open(r.paths(), OpenMode::kReadWrite);
    if (!s) _exit(2);
    auto op = s->begin_operation("cell.create", "cell/web");
    if (!op) _exit(3);
    char c = 'x';
    if (::write(p[1], &c, 1) != 1) _exit(4);
    if (hold_ms > 0) {
      ::usleep(static_cast<useconds_t>(hold_ms) * 1000);
      _exit(0);
    }
    for (;;) ::pause();
  }
  ::close(p[1]);
  char c;
  EXPECT_EQ(::read(p[0], &c, 1), 1);
  ::close(p[0]);
  return pid;
}

TEST(StoreWriterLock, SecondWriterIsRefusedNamingTheRunningOperation) {
  ScratchRoot r;
  { Store init = open_rw(r); }
  pid_t holder = spawn_holder(r, 0);
  Store s = open_rw(r);
  auto op = s.begin_operation("volume.create", "volume/v");
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.error().kind(), ErrorKind::kBusy);
  const std::string& m = op.error().message();
  EXPECT_NE(m.find("op-1 (cell.create cell/web)"), std::string::npos) << m;
  EXPECT_NE(m.find("pid " + std::to_string(holder)), std::string::npos) << m;
  EXPECT_NE(m.find("store_test"), std::string::npos) << m;  // the holder's command line
  // Readers are never blocked by a writer.
  EXPECT_TRUE(s.verify_journal().ok());

  // A holder that died releases the lock: its stale owner record is no reason to fail.
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  auto after = s.begin_operation("volume.create", "volume/v");
  ASSERT_TRUE(after.ok()) << after.error().message();
}

// An flock belongs to the open file: a process that inherited the holder's descriptor holds
// the lock after the holder died. The refusal says so and names that process.
TEST(StoreWriterLock, ARefusalNamesTheProcessThatStillHoldsALockWhoseOwnerDied) {
  ScratchRoot r;
  { Store init = open_rw(r); }
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::close(p[0]);
    auto s = Store::open(r.paths(), OpenMode::kReadWrite);
    if (!s) _exit(2);
    auto op = s->begin_operation("cell.create", "cell/web");
    if (!op) _exit(3);
    pid_t heir = ::fork();  // inherits the lock's descriptor, then outlives its parent
    if (heir == 0) {
      for (;;) ::pause();
    }
    if (::write(p[1], &heir, sizeof heir) != sizeof heir) _exit(4);
    _exit(0);
  }
  ::close(p[1]);
  pid_t heir = 0;
  ASSERT_EQ(::read(p[0], &heir, sizeof heir), ssize_t(sizeof heir));
  ::close(p[0]);
  ::waitpid(owner, nullptr, 0);

  Store s = open_rw(r);
  auto op = s.begin_operation("volume.create", "volume/v");
  ::kill(heir, SIGKILL);
  ASSERT_FALSE(op.ok());
  const std::string& m = op.error().message();
  EXPECT_NE(m.find("by pid " + std::to_string(owner)), std::string::npos) << m;
  EXPECT_NE(m.find("which has exited; the lock is still held by pid " + std::to_string(heir)),
            std::string::npos) << m;
}

TEST(StoreWriterLock, WaitingWriterProceedsWhenTheHolderFinishes) {
  ScratchRoot r;
  { Store init = open_rw(r); }
  pid_t holder = spawn_holder(r, 300);
  Store s = open_rw(r);
  auto t0 = std::chrono::steady_clock::now();
  auto op = s.begin_operation("volume.create", "volume/v", Wait::kYes);
  ASSERT_TRUE(op.ok()) << op.error().message();
  EXPECT_GT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100));
  ::waitpid(holder, nullptr, 0);
}

TEST(StoreWriterLock, ReleasedWhenTheOperationEnds) {
  ScratchRoot r;
  Store s = open_rw(r);
  { Operation a = *s.begin_operation("a", ""); }
  EXPECT_TRUE(s.begin_operation("b", "").ok());
}

}  // namespace
}  // namespace cells::store
