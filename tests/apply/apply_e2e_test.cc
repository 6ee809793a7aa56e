// End-to-end: cellmgr apply on real cells: NOOP, plan drift restarts only its cell, a failing
// healthcheck rolls back byte for byte, a live apply (reload, no restart) and its rollback,
// rollback --to, pending policy drift, step lines reaching a pipe before a cell's slow steps, a
// planted symlink, and bad plans refused before anything changes.
#include <gmock/gmock.h>
#include <sys/stat.h>

#include "base/files.h"
#include "store/store.h"
#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool file_exists_at(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

class Apply : public ControlPlaneTest {
 protected:
  // A cell (medium unless PROFILE) running busybox httpd on a free port, serving
  // /var/www/<name>.
  std::string make_site(const std::string& name, const std::string& plan_body,
                        const std::string& profile = "medium") {
    const std::string port = std::to_string(free_port());
    Outcome c = cellmgr({"cell", "create", name, "--autostart", "YES", "--profile", profile,
                         "--reserved-ports", port, "--cmd",
                         "busybox httpd -f -p " + port + " -h /var/www/" + name, "--healthcheck",
                         "test -f /var/www/" + name + "/ok", "--scope", "desired"});
    EXPECT_EQ(c.status, 0) << c.err;
    write_plan(name, plan_body);
    return port;
  }
  void write_plan(const std::string& name, const std::string& body) {
    ASSERT_TRUE(write_file_atomic(paths_->etc_dir() + "/" + name + ".apply", body).ok());
  }
  std::string page(const std::string& site, const std::string& text) {
    return "FILE_BEGIN /var/www/" + site + "/index.html\n" + text + "\nFILE_END\n"
           "FILE_BEGIN /var/www/" + site + "/ok\nyes\nFILE_END\n";
  }
  std::string http_get(const std::string& port) {
    Outcome o;
    for (int i = 0; i < 20; ++i) {
      o = host({"curl", "-fsS", "http://127.0.0.1:" + port + "/"});
      if (o.status == 0) break;
      host({"sleep", "0.25"});
    }
    return o.out;
  }
  // Every entry of DIR on disk: path, type, mode, owner, size, content digest and xattrs
  // (but overlayfs's bookkeeping of where a layer was mounted).
  std::string tree_of(const std::string& dir) {
    Outcome o = host({"sh", "-c", "cd " + dir + " && find . -printf '%p %y %m %U:%G %s %l\\n' | sort"
                                  " && find . -type f -exec md5sum {} + | sort"
                                  " && getfattr -R -h -d -m - . 2>/dev/null | awk '/^# file:/ {f = $3; next}"
                                  " NF && !/^trusted.overlay.(origin|impure|uuid)=/ {print f, $0}'"});
    EXPECT_EQ(o.status, 0) << o.err;
    return o.out;
  }
  ino_t inode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_ino;
  }
  std::string supervisor_pid(const std::string& name) {
    return read_file(paths_->run_dir() + "/supervise/" + name + ".pid").value_or("?");
  }
};

TEST_F(Apply, FirstApplyCreatesSecondIsNoopEditRestartsOnlyThatCell) {
  bootstrap();
  const std::string pa = make_site("a", page("a", "alpha one"));
  const std::string pb = make_site("b", page("b", "beta one"));
  Outcome first = cellmgr({"apply"});
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  EXPECT_THAT(first.out, HasSubstr("apply: dry-run=NO reapply=NO restart-changed=NO verbose=NO\n"
                                   "cell a\n"
                                   "  CREATE       render runtime cell state\n"
                                   "  APPLY        run " + paths_->etc_dir() + "/a.apply\n"
                                   "  START        supervised service after apply\n"
                                   "  HEALTHCHECK  test -f /var/www/a/ok\n"
                                   "  RESULT       changed\n"));
  EXPECT_THAT(first.out, HasSubstr("\nsummary: cells=2 changed=2 failed=0 dry-run=NO\noperation "));
  EXPECT_THAT(http_get(pa), HasSubstr("alpha one"));
  EXPECT_THAT(http_get(pb), HasSubstr("beta one"));

  Outcome second = cellmgr({"apply"});
  ASSERT_EQ(second.status, 0) << second.out << second.err;
  EXPECT_THAT(second.out, HasSubstr("cell a\n  RESULT       unchanged\ncell b\n  RESULT       unchanged\n"));
  EXPECT_THAT(second.out, HasSubstr("summary: cells=2 changed=0 failed=0"));
  EXPECT_EQ(cellmgr({"apply", "--dry-run"}).status, 0);

  const auto b_pid = supervisor_pid("b");
  const auto a_pid = supervisor_pid("a");
  write_plan("a", page("a", "alpha two"));
  Outcome dry = cellmgr({"apply", "--dry-run"});
  EXPECT_EQ(dry.status, 2) << dry.out;
  Outcome third = cellmgr({"apply"});
  ASSERT_EQ(third.status, 0) << third.out << third.err;
  EXPECT_THAT(third.out, HasSubstr("cell a\n  APPLY        run " + paths_->etc_dir() + "/a.apply\n"
                                   "  RESTART      supervised service after apply\n"));
  EXPECT_THAT(third.out, HasSubstr("cell b\n  RESULT       unchanged\n"));
  {
    // Only a's record moved to the new generation. b did not restart: its record keeps the
    // generation it was applied from, whose copy of b is still what is in force, so an apply
    // of one cell writes one record whatever the number of cells (decision 74).
    auto st = store::Store::open(*paths_, store::OpenMode::kReadOnly);
    ASSERT_TRUE(st.ok()) << st.error().message();
    const uint64_t gen = *st->current_generation();
    EXPECT_EQ((**st->runtime("a")).applied_generation, gen);
    const uint64_t b_gen = (**st->runtime("b")).applied_generation;
    EXPECT_LT(b_gen, gen);
    auto b_then = st->generation_cell(b_gen, "b");
    ASSERT_TRUE(b_then.ok() && *b_then);
    EXPECT_EQ((*b_then)->manifest.manifest_text, read_file(paths_->etc_dir() + "/b.cell").value_or("?"));
  }
  EXPECT_THAT(http_get(pa), HasSubstr("alpha two"));
  EXPECT_EQ(supervisor_pid("b"), b_pid);
  EXPECT_NE(supervisor_pid("a"), a_pid);
  // Cells applied from different generations: drift reads each from its own.
  Outcome fourth = cellmgr({"apply"});
  ASSERT_EQ(fourth.status, 0) << fourth.out << fourth.err;
  EXPECT_THAT(fourth.out, HasSubstr("cell a\n  RESULT       unchanged\ncell b\n  RESULT       unchanged\n"));
  EXPECT_EQ(supervisor_pid("b"), b_pid);
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Apply, FailingHealthcheckRollsBackLayerAndService) {
  bootstrap();
  const std::string port = make_site("web", page("web", "old content") +
                                               "EXEC echo kept > /var/www/web/extra\n");
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  ASSERT_THAT(http_get(port), HasSubstr("old content"));
  const std::string gen_before = std::to_string(generation());

  // The new plan rewrites the page, deletes two files (one the healthcheck needs), adds one.
  write_plan("web", "FILE_BEGIN /var/www/web/index.html\nnew content\nFILE_END\n"
                    "EXEC rm /var/www/web/ok /var/www/web/extra\n"
                    "EXEC chmod 0600 /var/www/web/index.html\n"
                    "FILE_BEGIN /var/www/web/added\nx\nFILE_END\n");
  Outcome r = cellmgr({"apply"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("  RESULT       failed\n"));
  EXPECT_THAT(r.out, HasSubstr("  ROLLBACK     web restored to generation " + gen_before));
  EXPECT_THAT(r.out, HasSubstr("summary: cells=1 changed=1 failed=1"));
  // The old layer is back byte for byte (deleted files too), and the old content is served.
  EXPECT_THAT(http_get(port), HasSubstr("old content"));
  Outcome files = cellmgr({"cell", "shell", "web", "/bin/sh", "-c",
                           "cat /var/www/web/extra; stat -c %a /var/www/web/index.html; "
                           "test -e /var/www/web/added && echo added"});
  EXPECT_EQ(files.out, "kept\n644\n") << files.err;
  Outcome j = cellmgr({"journal", "list", "--cell", "web"});
  EXPECT_THAT(j.out, HasSubstr("compensated"));
  EXPECT_EQ(cellmgr({"journal", "verify"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

// A high cell (user namespace, idmapped root) stacks its snapshot like the others: the layer
// is renamed, never copied (a big file keeps its inode), the plan's host-side writes and the
// cell's own writes land with the cell's ids on disk, a failing healthcheck gives the layer
// back byte for byte, and a later apply folds the stack.
TEST_F(Apply, HighCellSnapshotStacksAndRollsBackByteForByte) {
  bootstrap();
  const std::string port = make_site("hi", page("hi", "old content") +
                                               "EXEC dd if=/dev/zero of=/var/big bs=1M count=32 2>/dev/null\n"
                                               "EXEC echo kept > /var/www/hi/extra && chown 33:33 /var/www/hi/extra\n"
                                               "DIR /srv/data mode=0750 owner=33 group=33\n",
                                     "high");
  Outcome first = cellmgr({"apply"});
  ASSERT_EQ(first.status, 0) << first.out << first.err;
  ASSERT_THAT(http_get(port), HasSubstr("old content"));
  const std::string cell = paths_->cells_dir() + "/hi";
  // Ids on disk are the cell's own (the idmap stores them unshifted), from either writer.
  struct stat st {};
  ASSERT_EQ(::stat((cell + "/overlay/srv/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 33u);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  // The second apply stops the cell, stacks a snapshot of the first one's layer under a
  // fresh one, and fails its healthcheck after deleting, changing and adding files.
  ASSERT_EQ(cellmgr({"cell", "stop", "hi"}).status, 0);
  const ino_t big = inode_of(cell + "/overlay/var/big");
  const std::string layer_before = tree_of(cell + "/overlay");
  ASSERT_EQ(cellmgr({"cell", "start", "hi"}).status, 0);
  write_plan("hi", "FILE_BEGIN /var/www/hi/index.html owner=33\nnew content\nFILE_END\n"
                   "EXEC rm /var/www/hi/ok /var/www/hi/extra /var/big\n"
                   "EXEC chmod 0600 /var/www/hi/index.html && chown -R 1:1 /srv/data\n"
                   "FILE_BEGIN /var/www/hi/added\nx\nFILE_END\n");
  Outcome r = cellmgr({"apply"});
  EXPECT_EQ(r.status, 1) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("  ROLLBACK     hi restored to generation "));
  EXPECT_THAT(http_get(port), HasSubstr("old content"));
  ASSERT_EQ(cellmgr({"cell", "stop", "hi"}).status, 0);
  EXPECT_EQ(tree_of(cell + "/overlay"), layer_before);
  EXPECT_EQ(inode_of(cell + "/overlay/var/big"), big);  // the same file, not a copy of it
  EXPECT_FALSE(file_exists_at(cell + "/snapshot"));

  // A passing apply keeps the stack (the big file is still the snapshot's), the next folds it.
  write_plan("hi", page("hi", "second") + "EXEC rm /var/big\n");
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  EXPECT_THAT(http_get(port), HasSubstr("second"));
  EXPECT_EQ(inode_of(cell + "/snapshot/var/big"), big);
  write_plan("hi", page("hi", "third"));
  Outcome third = cellmgr({"apply"});
  ASSERT_EQ(third.status, 0) << third.out << third.err;
  EXPECT_THAT(http_get(port), HasSubstr("third"));
  Outcome gone = cellmgr({"cell", "shell", "hi", "/bin/sh", "-c", "test -e /var/big || echo gone; id -u"});
  EXPECT_EQ(gone.out, "gone\n0\n") << gone.err;
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
  EXPECT_FALSE(file_exists_at(cell + "/overlay/var/big"));
  EXPECT_TRUE(file_exists_at(cell + "/snapshot"));  // the third apply's own stack
}

// A high cell with a reload signal and a plan of file steps: apply changes the files under the
// running service (no stop, the same service process) and reloads it; a failing healthcheck
// puts back exactly what the plan wrote (content, modes, owners, a replaced file, a new tree)
// through the idmapped root, again without a restart, and leaves no pre-image behind.
TEST_F(Apply, LiveApplyKeepsTheServiceAndRollsBackItsFilesByteForByte) {
  bootstrap();
  const std::string port = make_site("live", page("live", "version one") +
                                                 "FILE_BEGIN /var/www/live/conf mode=0640 owner=33\na\nFILE_END\n",
                                     "high");
  ASSERT_EQ(cellmgr({"cell", "set", "live", "--reload-signal", "HUP", "--scope", "desired"}).status, 0);
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  ASSERT_THAT(http_get(port), HasSubstr("version one"));
  const std::string service = host({"pgrep", "-f", "httpd -f -p " + port}).out;
  ASSERT_FALSE(service.empty());
  const std::string supervisor = supervisor_pid("live");

  write_plan("live", page("live", "version two") +
                         "FILE_BEGIN /var/www/live/conf mode=0640 owner=33\nb\nFILE_END\n");
  Outcome two = cellmgr({"apply"});
  ASSERT_EQ(two.status, 0) << two.out << two.err;
  EXPECT_THAT(two.out, HasSubstr("cell live\n  APPLY        run " + paths_->etc_dir() + "/live.apply\n"
                                 "  RELOAD       supervised service (SIGHUP) after apply\n"
                                 "  HEALTHCHECK  test -f /var/www/live/ok\n  RESULT       changed\n"));
  EXPECT_THAT(http_get(port), HasSubstr("version two"));
  EXPECT_EQ(host({"pgrep", "-f", "httpd -f -p " + port}).out, service);
  EXPECT_EQ(supervisor_pid("live"), supervisor);

  // The failing plan: new content and mode, an owner change, a new directory tree, and the
  // healthcheck's file replaced by a link to nowhere.
  const std::string www = paths_->cells_dir() + "/live/root/var/www/live";
  const std::string before = tree_of(www);
  write_plan("live", "FILE_BEGIN /var/www/live/index.html mode=0600\nversion three\nFILE_END\n"
                     "FILE_BEGIN /var/www/live/conf owner=0\nc\nFILE_END\n"
                     "DIR /var/www/live/new/deeper\nFILE_BEGIN /var/www/live/new/deeper/x\nx\nFILE_END\n"
                     "SYMLINK /nowhere /var/www/live/ok\n");
  Outcome three = cellmgr({"apply"});
  EXPECT_EQ(three.status, 1) << three.out << three.err;
  EXPECT_THAT(three.out, HasSubstr("  RELOAD       supervised service (SIGHUP) after apply\n"));
  EXPECT_THAT(three.out, HasSubstr("  ROLLBACK     live restored to generation "));
  EXPECT_EQ(tree_of(www), before);
  EXPECT_THAT(http_get(port), HasSubstr("version two"));
  EXPECT_EQ(host({"pgrep", "-f", "httpd -f -p " + port}).out, service);
  EXPECT_FALSE(file_exists_at(paths_->cells_dir() + "/live/preimage"));
  Outcome j = cellmgr({"journal", "list", "--cell", "live"});
  EXPECT_THAT(j.out, HasSubstr("apply.preimage"));
  EXPECT_THAT(j.out, HasSubstr("compensated"));
  EXPECT_EQ(cellmgr({"journal", "verify"}).status, 0);
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Apply, RollbackToAnEarlierGeneration) {
  bootstrap();
  const std::string port = make_site("site", page("site", "version one"));
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  const uint64_t g1 = generation();
  write_plan("site", page("site", "version two"));
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  ASSERT_THAT(http_get(port), HasSubstr("version two"));
  ASSERT_GT(generation(), g1);
  Outcome h = cellmgr({"history"});
  EXPECT_THAT(h.out, HasSubstr("(current)"));
  Outcome dry = cellmgr({"rollback", "--to", std::to_string(g1), "--dry-run"});
  EXPECT_EQ(dry.status, 2) << dry.out << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("REWRITE      " + paths_->etc_dir() + "/site.apply"));
  Outcome rb = cellmgr({"rollback", "--to", std::to_string(g1)});
  ASSERT_EQ(rb.status, 0) << rb.out << rb.err;
  EXPECT_THAT(http_get(port), HasSubstr("version one"));
  EXPECT_EQ(cellmgr({"rollback", "--to", "999"}).status, 1);
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

// Apply buffers its step lines but pushes them out before it acts on a cell, so a pipe (a log,
// `| tee`) sees a cell's lines before its slow steps run, not all at the end. Each line is
// stamped as it comes out of the pipe; the healthcheck sleeps 2 s between the two.
TEST_F(Apply, StepLinesReachAPipeBeforeTheCellsSlowSteps) {
  bootstrap();
  Outcome c = cellmgr({"cell", "create", "slow", "--autostart", "YES", "--profile", "medium",
                       "--cmd", "sleep 1000", "--healthcheck", "sleep 2", "--scope", "desired"});
  ASSERT_EQ(c.status, 0) << c.err;
  Outcome run = host({"sh", "-c",
                      std::string(CELLMGR_PATH) + " --root " + scratch_ +
                          " apply | while IFS= read -r l; do echo \"$(date +%s%N) $l\"; done"},
                     {std::string("CELLS_CELLCTL=") + CELLCTL_PATH});
  ASSERT_EQ(run.status, 0) << run.out << run.err;
  auto stamp_of = [&](const std::string& needle) -> int64_t {
    size_t at = run.out.find(needle);
    if (at == std::string::npos) return -1;
    size_t line = run.out.rfind('\n', at);
    line = line == std::string::npos ? 0 : line + 1;
    return std::stoll(run.out.substr(line, run.out.find(' ', line) - line));
  };
  const int64_t check = stamp_of("  HEALTHCHECK  sleep 2");
  const int64_t result = stamp_of("  RESULT       changed");
  ASSERT_GT(check, 0) << run.out;
  ASSERT_GT(result, 0) << run.out;
  EXPECT_GE(result - check, 1'500'000'000) << run.out;
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Apply, PolicyDriftStaysPendingUntilRestartChanged) {
  bootstrap();
  make_site("p", page("p", "x"));
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  auto shown_drift = [&] {
    Outcome show = cellmgr({"cell", "show", "p", "--json", "-o", "name,policy_drift"});
    EXPECT_EQ(show.status, 0) << show.err;
    return show.out;
  };
  EXPECT_THAT(shown_drift(), HasSubstr("\"policy_drift\": null"));
  const std::string port2 = std::to_string(free_port());
  ASSERT_EQ(cellmgr({"cell", "set", "p", "--reserved-ports", port2}).status, 0);
  for (int i = 0; i < 2; ++i) {
    Outcome a = cellmgr({"apply"});
    ASSERT_EQ(a.status, 0) << a.out << a.err;
    EXPECT_THAT(a.out, HasSubstr("  WARN         policy drift pending (ports)"));
    EXPECT_THAT(a.out, HasSubstr("  RESULT       pending\n"));
    Outcome dry = cellmgr({"apply", "--dry-run"});
    EXPECT_EQ(dry.status, 2) << dry.out;
    EXPECT_THAT(dry.out, HasSubstr("policy drift pending"));
    // cell show reports the same pending drift, and keeps reporting it after each apply.
    EXPECT_THAT(shown_drift(), HasSubstr("\"policy_drift\": \"ports\"")) << "after apply " << i;
    Outcome table = cellmgr({"cell", "show", "p"});
    EXPECT_THAT(table.out, ::testing::ContainsRegex("\nPOLICY_DRIFT +ports\n")) << table.out;
  }
  Outcome fix = cellmgr({"apply", "--restart-changed"});
  ASSERT_EQ(fix.status, 0) << fix.out << fix.err;
  EXPECT_THAT(fix.out, HasSubstr("  RESTART      supervised service "));
  Outcome dry = cellmgr({"apply", "--dry-run"});
  EXPECT_EQ(dry.status, 0) << dry.out;
  EXPECT_THAT(dry.out, Not(HasSubstr("WARN")));
  EXPECT_THAT(shown_drift(), HasSubstr("\"policy_drift\": null"));
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Apply, PlantedSymlinkDoesNotLetFileWriteToTheHost) {
  bootstrap();
  make_site("s", page("s", "x") + "EXEC ln -s /etc /var/www/x\n");
  ASSERT_EQ(cellmgr({"apply"}).status, 0);
  write_plan("s", page("s", "x") + "EXEC ln -sfn /etc /var/www/x\n"
                  "FILE_BEGIN /var/www/x/cells-apply-escape\npwned\nFILE_END\n");
  Outcome a = cellmgr({"apply"});
  ASSERT_EQ(a.status, 0) << a.out << a.err;
  struct stat st;
  EXPECT_NE(::stat("/etc/cells-apply-escape", &st), 0);
  Outcome in = cellmgr({"cell", "shell", "s", "/bin/cat", "/etc/cells-apply-escape"});
  EXPECT_EQ(in.out, "pwned\n");
  ASSERT_EQ(cellmgr({"cell", "stop", "--all"}).status, 0);
}

TEST_F(Apply, BadPlansAreRefusedWithFileLineBeforeAnythingChanges) {
  bootstrap();
  make_site("bad", page("bad", "x"));
  ASSERT_TRUE(write_file_atomic(paths_->etc_dir() + "/page.tmpl", "hi {{nope}}\n").ok());
  const std::string f = paths_->etc_dir() + "/bad.apply";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"# c\nBOGUS /x\n", f + ":2: "},
      {"FILE_BEGIN /var/www/bad/x\nno end\n", f + ":1: "},
      {"FILE_BEGIN var/www/x\nFILE_END\n", f + ":1: "},
      {"DIR /var/www/../etc\n", f + ":1: "},
      {"TEMPLATE page.tmpl /var/www/bad/t\n", "unknown template token 'nope'"},
      {"COPY missing.txt /var/www/bad/m\n", f + ":1: "},
  };
  const uint64_t gen = generation();
  for (const auto& [plan, want] : cases) {
    write_plan("bad", plan);
    auto before = etc_snapshot();
    Outcome a = cellmgr({"apply"});
    EXPECT_EQ(a.status, 1) << plan;
    EXPECT_THAT(a.err, HasSubstr(want)) << plan;
    EXPECT_THAT(a.err, HasSubstr("nothing was changed")) << plan;
    EXPECT_EQ(generation(), gen) << plan;
    EXPECT_EQ(etc_snapshot(), before);
    EXPECT_TRUE(mounts_under_root().empty());
  }
}

}  // namespace
}  // namespace cells::controlplane::testing
