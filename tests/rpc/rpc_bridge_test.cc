// cellmgr serve --stdio end to end: reads match the CLI's, actions change real cells and are
// journaled like the CLI's, events arrive after an external change, backups round-trip, apply
// dry-run, shell, and a killed bridge is noticed and replaced by reconnect().
#include <gmock/gmock.h>
#include <poll.h>
#include <signal.h>

#include <chrono>
#include <sstream>

#include "base/files.h"
#include "tests/rpc/rpc_harness.h"

namespace cells::rpc::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// Waits (select on the client's fd, never a fixed poll) for an event matching PRED.
template <typename Pred>
std::optional<Event> wait_event(Client& c, Pred pred, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  for (;;) {
    c.pump();
    while (auto e = c.next_event()) {
      if (pred(*e)) return e;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{c.fd(), POLLIN, 0};
    ::poll(&p, 1, int(left.count()));
  }
}

const CellInfo* find(const std::vector<CellInfo>& cells, const std::string& name) {
  for (const auto& c : cells) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

// True when some tab-separated field of some line of TSV is exactly WORD.
bool has_field(const std::string& tsv, const std::string& word) {
  std::istringstream lines(tsv);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    for (std::string f; std::getline(fields, f, '\t');) {
      if (f == word) return true;
    }
  }
  return false;
}

class Bridge : public BridgeTest {
 protected:
  void two_cells() {
    bootstrap();
    ASSERT_EQ(cellmgr({"volume", "create", "www", "--scope", "both"}).status, 0);
    ASSERT_EQ(cellmgr({"cell", "create", "a", "--profile", "low", "--cmd", "sleep 1000",
                       "--mount", "www:/srv/www"}).status, 0);
    ASSERT_EQ(cellmgr({"cell", "create", "b", "--profile", "low", "--cmd", "sleep 1000"}).status, 0);
  }
};

TEST_F(Bridge, ReadsMatchTheCli) {
  two_cells();
  ASSERT_EQ(cellmgr({"cell", "start", "a"}).status, 0);
  connect();
  auto v = client_->version();
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->major, 1u);

  auto cells = client_->cells();
  ASSERT_TRUE(cells.ok()) << cells.error().message();
  std::ostringstream got;
  for (const auto& c : *cells) {
    got << c.name << "\t" << c.lifecycle << "\t" << (c.running ? 1 : 0) << "\t"
        << (c.running ? std::to_string(c.cid) : "-") << "\t" << c.profile << "\n";
  }
  auto cli = cellmgr({"cell", "list", "-T", "-H", "--view", "merged", "-o", "name,state,running,cid,profile"});
  ASSERT_EQ(cli.status, 0) << cli.err;
  EXPECT_EQ(got.str(), cli.out);
  const CellInfo* a = find(*cells, "a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->state, "running");
  EXPECT_THAT(a->mounts, ElementsAre("www:/srv/www:rw"));
  EXPECT_EQ(a->command, "sleep 1000");
  EXPECT_TRUE(a->manifest);
  EXPECT_GE(a->age_seconds, 0);
  EXPECT_EQ(find(*cells, "b")->state, "stopped");

  auto vols = client_->volumes();
  ASSERT_TRUE(vols.ok()) << vols.error().message();
  ASSERT_EQ(vols->size(), 1u);
  auto vcli = cellmgr({"volume", "list", "-T", "-H", "-o", "name,state,mode,mounted,refs,used_by"});
  const auto& w = vols->front();
  EXPECT_EQ(w.name + "\t" + w.state + "\t" + w.mode + "\t" + (w.mounted ? "1" : "0") + "\t" +
                std::to_string(w.refs) + "\t" + (w.used_by.empty() ? "-" : w.used_by[0]) + "\n",
            vcli.out);

  auto overlays = client_->overlays();
  ASSERT_TRUE(overlays.ok()) << overlays.error().message();
  ASSERT_EQ(overlays->size(), 2u);
  EXPECT_EQ((*overlays)[0].cell, "a");
  EXPECT_TRUE((*overlays)[0].running);
  EXPECT_FALSE((*overlays)[1].running);

  auto page = client_->journal("a", 5);
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_FALSE(page->empty());
  EXPECT_LE(page->size(), 5u);
  for (const auto& e : *page) EXPECT_THAT(e.target, HasSubstr("cell/a"));
  auto head = client_->journal_head();
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(*head, journal_head());
  // A page further back ends before the first entry of the newer page.
  auto older = client_->journal("", 3, page->front().seq);
  ASSERT_TRUE(older.ok());
  for (const auto& e : *older) EXPECT_LT(e.seq, page->front().seq);

  auto tel = client_->telemetry();
  ASSERT_TRUE(tel.ok()) << tel.error().message();
  for (const auto& t : *tel) EXPECT_EQ(t.name, "a");  // only running cells
}

TEST_F(Bridge, StartAndStopChangeTheCellAndAreJournaledLikeTheCli) {
  two_cells();
  connect();
  uint64_t before = journal_head();
  auto started = client_->start({"b"});
  ASSERT_TRUE(started.ok()) << started.error().message();
  EXPECT_THAT(*started, ElementsAre("b"));
  auto list = host({CELLCTL_PATH, "--root", scratch_, "list", "-T", "-H"});
  EXPECT_TRUE(has_field(list.out, "b")) << list.out;
  EXPECT_EQ(cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"}).out, "a\t0\nb\t1\n");
  auto journal = cellmgr({"journal", "list", "--cell", "b"});
  EXPECT_THAT(journal.out, HasSubstr("cell.start"));
  EXPECT_GT(journal_head(), before);

  auto stopped = client_->stop({}, true);
  ASSERT_TRUE(stopped.ok()) << stopped.error().message();
  EXPECT_THAT(*stopped, ElementsAre("b"));
  EXPECT_EQ(cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"}).out, "a\t0\nb\t0\n");
  list = host({CELLCTL_PATH, "--root", scratch_, "list", "-T", "-H"});
  EXPECT_FALSE(has_field(list.out, "b")) << list.out;

  auto restarted = client_->restart({"a"});
  ASSERT_TRUE(restarted.ok()) << restarted.error().message();
  EXPECT_EQ(cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"}).out, "a\t1\nb\t0\n");
  ASSERT_TRUE(client_->stop({"a"}).ok());
}

TEST_F(Bridge, BadActionInputIsRefusedAndChangesNothing) {
  two_cells();
  connect();
  uint64_t head = journal_head();
  auto etc = etc_snapshot();
  auto bad = client_->start({"no/such"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind(), ErrorKind::kInvalid);
  EXPECT_THAT(bad.error().message(), HasSubstr("cell name 'no/such' is invalid"));
  bad = client_->start({});  // neither names nor all
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("exactly one of names or all"));
  bad = client_->stop({"a"}, true);
  EXPECT_FALSE(bad.ok());
  std::vector<std::string> many(2000, "a");
  bad = client_->start(many);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message(), HasSubstr("at most 1024"));
  auto jr = client_->journal("", 0);
  ASSERT_FALSE(jr.ok());
  EXPECT_THAT(jr.error().message(), HasSubstr("limit 0 is not in 1..10000"));
  auto del = client_->backup_delete(BackupKind::kVolume, "www", "../../etc/passwd");
  ASSERT_FALSE(del.ok());
  EXPECT_THAT(del.error().message(), HasSubstr("is not a backup file name of volume www"));
  auto rs = client_->backup_restore(BackupKind::kVolume, "nope", "", false, false);
  ASSERT_FALSE(rs.ok());
  EXPECT_EQ(rs.error().kind(), ErrorKind::kNotFound);
  auto sh = client_->shell_command("a");
  ASSERT_FALSE(sh.ok());
  EXPECT_THAT(sh.error().message(), HasSubstr("cell a is not running"));
  // Nothing changed, and the bridge still answers.
  EXPECT_EQ(journal_head(), head);
  EXPECT_EQ(etc_snapshot(), etc);
  EXPECT_TRUE(client_->cells().ok());
  EXPECT_TRUE(client_->connected());
}

TEST_F(Bridge, EventsArriveAfterAnExternalStop) {
  two_cells();
  ASSERT_EQ(cellmgr({"cell", "start", "a"}).status, 0);
  connect();
  // A telemetry tick arrives by itself within about a second.
  auto tick = wait_event(*client_, [](const Event& e) { return e.kind == Event::Kind::kTelemetryTick; },
                         std::chrono::seconds(5));
  ASSERT_TRUE(tick.has_value());

  auto stop = cellmgr({"cell", "stop", "a"});
  ASSERT_EQ(stop.status, 0) << stop.err;
  auto t0 = Clock::now();
  auto changed = wait_event(*client_, [](const Event& e) {
    if (e.kind != Event::Kind::kCellsChanged) return false;
    const CellInfo* a = find(e.cells, "a");
    return a && !a->running;
  }, std::chrono::seconds(5));
  auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(find(changed->cells, "a")->state, "stopped");
  std::printf("cellsChanged %lld ms after cellmgr cell stop returned\n", (long long)latency.count());
  EXPECT_LT(latency.count(), 1000);
  auto appended = wait_event(*client_, [](const Event& e) {
    if (e.kind != Event::Kind::kJournalAppended) return false;
    for (const auto& j : e.journal) {
      if (j.kind == "cell.stop" && j.target == "cell/a") return true;
    }
    return false;
  }, std::chrono::seconds(2));
  // The journal event was pushed before (or with) the cell list: it may already be consumed.
  if (!appended) {
    auto page = client_->journal("a", 5);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->back().kind, "cell.stop");
  }
}

TEST_F(Bridge, BackupCreateListRestoreDelete) {
  two_cells();
  ASSERT_TRUE(write_file_atomic(paths_->volumes_dir() + "/www/index.html", "one\n").ok());
  connect();
  auto made = client_->backup_create(BackupKind::kVolume, "www");
  ASSERT_TRUE(made.ok()) << made.error().message();
  EXPECT_GE(made->entries, 1u);
  auto list = client_->backups(BackupKind::kVolume, "www");
  ASSERT_TRUE(list.ok()) << list.error().message();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().file, made->file);
  EXPECT_TRUE(list->front().recorded);
  auto cli = cellmgr({"volume", "backup", "list", "www", "-T", "-H"});
  EXPECT_THAT(cli.out, HasSubstr(made->path));

  ASSERT_TRUE(write_file_atomic(paths_->volumes_dir() + "/www/index.html", "two\n").ok());
  auto done = client_->backup_restore(BackupKind::kVolume, "www", "", false, false);
  ASSERT_TRUE(done.ok()) << done.error().message();
  EXPECT_EQ(done->file, made->file);
  EXPECT_EQ(done->manifest_generation, 0u);
  EXPECT_EQ(read_file(paths_->volumes_dir() + "/www/index.html").value_or(""), "one\n");

  // With the manifest: the volume's manifest comes back as the archive's generation had it.
  ASSERT_EQ(cellmgr({"volume", "set", "www", "-m", "0700"}).status, 0);
  auto with = client_->backup_restore(BackupKind::kVolume, "www", made->file, false, true);
  ASSERT_TRUE(with.ok()) << with.error().message();
  EXPECT_GT(with->manifest_generation, 0u);
  EXPECT_EQ(cellmgr({"volume", "list", "-T", "-H", "-o", "name,mode"}).out, "www\t0755\n");
  EXPECT_THAT(cellmgr({"journal", "list", "--op", "backup.manifest"}).out, HasSubstr("volume/www"));

  // A running user of the data: refused without stop, nothing changed.
  ASSERT_EQ(cellmgr({"cell", "start", "a"}).status, 0);
  uint64_t head = journal_head();
  auto busy = client_->backup_restore(BackupKind::kVolume, "www", "", false, false);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind(), ErrorKind::kBusy);
  EXPECT_EQ(journal_head(), head);
  ASSERT_EQ(cellmgr({"cell", "stop", "a"}).status, 0);

  ASSERT_TRUE(client_->backup_delete(BackupKind::kVolume, "www", made->file).ok());
  list = client_->backups(BackupKind::kVolume, "www");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  EXPECT_EQ(cellmgr({"volume", "backup", "list", "www", "-T", "-H"}).out, "");
}

TEST_F(Bridge, ApplyDryRunReportsDriftAndChangesNothing) {
  two_cells();
  connect();
  uint64_t head = journal_head();
  auto r = client_->apply({}, true);
  ASSERT_TRUE(r.ok()) << r.error().message();
  auto cli = cellmgr({"apply", "--dry-run"});
  EXPECT_EQ(r->exit_code, cli.status);
  EXPECT_EQ(r->text, cli.out);
  EXPECT_EQ(journal_head(), head);
  EXPECT_EQ(cellmgr({"cell", "list", "-T", "-H", "-o", "name,running"}).out, "a\t0\nb\t0\n");
}

TEST_F(Bridge, ShellReturnsTheCommandForARunningCell) {
  two_cells();
  ASSERT_EQ(cellmgr({"cell", "start", "b"}).status, 0);
  connect();
  auto argv = client_->shell_command("b");
  ASSERT_TRUE(argv.ok()) << argv.error().message();
  ASSERT_GE(argv->size(), 3u);
  EXPECT_THAT(std::vector<std::string>(argv->end() - 3, argv->end()), ElementsAre("exec", "b", "/bin/sh"));
  // It really enters the cell: the shell reads its commands from stdin (here: none) and exits.
  auto run = host(*argv);
  EXPECT_EQ(run.status, 0) << run.err;
}

TEST_F(Bridge, AKilledBridgeIsNoticedAndReconnectWorks) {
  two_cells();
  connect();
  pid_t first = client_->bridge_pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  auto lost = wait_event(*client_, [](const Event& e) { return e.kind == Event::Kind::kDisconnected; },
                         std::chrono::seconds(5));
  ASSERT_TRUE(lost.has_value());
  EXPECT_FALSE(client_->connected());
  auto cells = client_->cells();
  ASSERT_FALSE(cells.ok());
  EXPECT_THAT(cells.error().message(), HasSubstr("bridge disconnected"));
  auto s = client_->reconnect();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE(client_->connected());
  EXPECT_NE(client_->bridge_pid(), first);
  cells = client_->cells();
  ASSERT_TRUE(cells.ok()) << cells.error().message();
  EXPECT_EQ(cells->size(), 2u);
}

}  // namespace
}  // namespace cells::rpc::testing
