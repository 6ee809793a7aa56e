// A simulated reboot of a scratch root, then `cellmgr apply --boot`: every cell process
// killed, the cgroups removed, the BPF programs unpinned, every mount under the root gone, the
// run directory cleared and a new boot id (CELLS_BOOT_ID_FILE, the test-only override). The
// autostart cells come back serving, dependencies first; the other cell stays stopped; the
// journal records a discard per stale record and still verifies.
#include <gmock/gmock.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/files.h"
#include "kernel/bpf_policy.h"
#include "store/store.h"
#include "tests/controlplane/harness.h"

namespace cells::controlplane::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class Boot : public ControlPlaneTest {
 protected:
  void SetUp() override {
    ControlPlaneTest::SetUp();
    if (IsSkipped()) return;
    boot_id_file_ = scratch_ + "/simulated-boot-id";
    set_boot_id("sim-boot-1");
  }

  void set_boot_id(const std::string& id) {
    ASSERT_TRUE(write_file_atomic(boot_id_file_, id + "\n").ok());
  }
  Outcome mgr(const std::vector<std::string>& args) {
    return cellmgr(args, {"CELLS_BOOT_ID_FILE=" + boot_id_file_});
  }

  // A medium cell running busybox httpd on a free port, serving the page its plan writes.
  // DOCROOT other than the plan's directory is for a cell started without apply.
  std::string make_site(const std::string& name, const std::string& autostart,
                        const std::string& depends_on = "", std::string docroot = "") {
    const std::string port = std::to_string(free_port());
    const std::string health = docroot.empty() ? "test -f /var/www/" + name + "/index.html" : "test -d " + docroot;
    if (docroot.empty()) docroot = "/var/www/" + name;
    std::vector<std::string> args = {"cell", "create", name, "--autostart", autostart,
                                     "--profile", "medium", "--reserved-ports", port, "--cmd",
                                     "busybox httpd -f -p " + port + " -h " + docroot,
                                     "--healthcheck", health};
    if (!depends_on.empty()) args.insert(args.end(), {"--depends-on", depends_on});
    Outcome c = mgr(args);
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_TRUE(write_file_atomic(paths_->etc_dir() + "/" + name + ".apply",
                                  "FILE_BEGIN /var/www/" + name + "/index.html\nsite " + name +
                                      "\nFILE_END\n")
                    .ok());
    return port;
  }

  // The page, or "" when nothing answers within a few seconds.
  std::string http_get(const std::string& port, int attempts = 20) {
    for (int i = 0; i < attempts; ++i) {
      Outcome o = host({"curl", "-fsS", "--max-time", "2", "http://127.0.0.1:" + port + "/"});
      if (o.status == 0) return o.out;
      ::usleep(250 * 1000);
    }
    return "";
  }

  // Whether anything answers HTTP on PORT (a 404 counts: a cell started without apply has no
  // page).
  bool answers(const std::string& port, int attempts = 20) {
    for (int i = 0; i < attempts; ++i) {
      if (host({"curl", "-sS", "-o", "/dev/null", "--max-time", "2", "http://127.0.0.1:" + port + "/"}).status == 0) {
        return true;
      }
      ::usleep(250 * 1000);
    }
    return false;
  }

  // What a reboot leaves: the store, the manifests and the layers, nothing of the kernel's.
  void simulate_reboot(const std::string& new_boot_id, bool clear_run_dir = true) {
    // Processes first: supervisors would restart services, so they go before the cells.
    for (const auto& pid : supervisors()) ::kill(std::stoi(pid), SIGKILL);
    std::vector<fs::path> cgroups;
    for (const auto& e : fs::recursive_directory_iterator(paths_->cgroup_parent())) {
      if (e.is_directory()) cgroups.push_back(e.path());
    }
    for (const auto& e : fs::directory_iterator(paths_->cgroup_parent())) {
      if (!e.is_directory()) continue;
      std::ofstream kill(e.path() / "cgroup.kill");  // a cgroup file: written in place
      kill << "1";
      kill.close();
      ASSERT_TRUE(kill.good()) << e.path();
    }
    for (int i = 0; i < 200 && !supervisors().empty(); ++i) ::usleep(10 * 1000);
    ASSERT_TRUE(supervisors().empty());
    // Then the cgroups, deepest first (rmdir waits for nothing: retry while the kill lands).
    std::sort(cgroups.begin(), cgroups.end(),
              [](const fs::path& a, const fs::path& b) { return a.string().size() > b.string().size(); });
    cgroups.push_back(paths_->cgroup_parent());
    for (const auto& cg : cgroups) {
      int rc = -1;
      for (int i = 0; i < 300 && (rc = ::rmdir(cg.c_str())) != 0; ++i) ::usleep(10 * 1000);
      ASSERT_EQ(rc, 0) << "rmdir " << cg << ": " << std::strerror(errno);
    }
    // The kernel programs and their pins.
    ASSERT_TRUE(kernel::BpfPolicy::unload(*paths_).ok());
    // Every mount under the root, deepest first (the seed mount namespace's pin too: a reboot
    // drops it, and the next create makes a new seed).
    auto mounts = all_mounts_under_root();
    std::sort(mounts.begin(), mounts.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& m : mounts) ASSERT_EQ(::umount2(m.c_str(), MNT_DETACH), 0) << m;
    ASSERT_TRUE(all_mounts_under_root().empty());
    if (clear_run_dir) fs::remove_all(paths_->run_dir());
    set_boot_id(new_boot_id);
  }

  size_t journal_count(const std::string& kind) {
    auto st = store::Store::open(*paths_, store::OpenMode::kReadOnly);
    if (!st) return 0;
    store::JournalFilter f;
    f.kind = kind;
    return st->list_journal(f).value_or(std::vector<store::JournalEntry>{}).size();
  }

  std::string boot_id_file_;
};

TEST_F(Boot, AutostartCellsComeBackServingInDependencyOrderAndTheRestStaysStopped) {
  bootstrap();
  // "app" sorts before "store" but depends on it, so the printed order shows the dependency.
  const std::string store_port = make_site("store", "YES");
  const std::string app_port = make_site("app", "YES", "store");
  const std::string tools_port = make_site("tools", "NO", "", "/etc");
  Outcome applied = mgr({"apply"});
  ASSERT_EQ(applied.status, 0) << applied.out << applied.err;
  ASSERT_EQ(mgr({"cell", "start", "tools"}).status, 0);  // running before, not autostart
  ASSERT_THAT(http_get(store_port), HasSubstr("site store"));
  ASSERT_THAT(http_get(app_port), HasSubstr("site app"));
  ASSERT_TRUE(answers(tools_port));

  // The first apply --boot of this boot finds everything running and records the boot.
  Outcome same = mgr({"apply", "--boot"});
  ASSERT_EQ(same.status, 0) << same.out << same.err;
  EXPECT_THAT(same.out, HasSubstr("boot: new boot sim-boot-1 (recorded: none)\n"));
  EXPECT_THAT(same.out, HasSubstr("bpf: kernel programs in place\n"));
  EXPECT_THAT(same.out, HasSubstr("\ncell app: running already (cid "));
  EXPECT_THAT(same.out, HasSubstr("\ncell tools: running already (cid "));
  EXPECT_THAT(same.out, HasSubstr("summary: cells=3 started=0 running=3 stopped=0 failed=0 discarded=0 new-boot=YES\n"));
  EXPECT_EQ(*read_file(paths_->run_dir() + "/boot_id"), "sim-boot-1\n");

  ASSERT_NO_FATAL_FAILURE(simulate_reboot("sim-boot-2"));
  EXPECT_EQ(http_get(app_port, 1), "");
  const size_t discards_before = journal_count("boot.discard");

  Outcome boot = mgr({"apply", "--boot"});
  ASSERT_EQ(boot.status, 0) << boot.out << boot.err;
  // The cleared run directory held the recorded id: a reboot without it is a new boot.
  EXPECT_THAT(boot.out, HasSubstr("boot: new boot sim-boot-2 (recorded: none)\n"));
  for (const char* cell : {"app", "store", "tools"}) {
    EXPECT_THAT(boot.out, HasSubstr(std::string("stale: runtime record of ") + cell + " (cid "));
  }
  EXPECT_THAT(boot.out, HasSubstr("bpf: kernel programs loaded (pins were missing)\n"));
  // One line per cell, dependencies first.
  std::vector<std::string> cell_lines;
  for (size_t at = 0; (at = boot.out.find("\ncell ", at)) != std::string::npos; ++at) {
    cell_lines.push_back(boot.out.substr(at + 1, boot.out.find('\n', at + 1) - at - 1));
  }
  ASSERT_EQ(cell_lines.size(), 3u) << boot.out;
  EXPECT_THAT(cell_lines[0], ::testing::MatchesRegex("cell store: started \\(cid [0-9]+\\)"));
  EXPECT_THAT(cell_lines[1], ::testing::MatchesRegex("cell app: started \\(cid [0-9]+\\)"));
  EXPECT_EQ(cell_lines[2], "cell tools: stays stopped (autostart=NO)");
  EXPECT_THAT(boot.out, HasSubstr("summary: cells=3 started=2 running=0 stopped=1 failed=0 discarded=3 new-boot=YES\n"));

  // Serving again, from the layers as applied (the plans were not run again).
  EXPECT_THAT(http_get(store_port), HasSubstr("site store"));
  EXPECT_THAT(http_get(app_port), HasSubstr("site app"));
  EXPECT_FALSE(answers(tools_port, 2));
  Outcome list = mgr({"cell", "list", "-T", "-H", "-o", "name,running,autostart"});
  EXPECT_EQ(list.out, "app\t1\t1\nstore\t1\t1\ntools\t0\t0\n");
  EXPECT_EQ(journal_count("boot.discard"), discards_before + 3);
  Outcome verify = mgr({"journal", "verify"});
  EXPECT_EQ(verify.status, 0) << verify.out << verify.err;

  // A plain apply afterwards has nothing to do: boot left each cell at its applied generation.
  Outcome noop = mgr({"apply"});
  EXPECT_EQ(noop.status, 0) << noop.out << noop.err;
  EXPECT_THAT(noop.out, HasSubstr("summary: cells=3 changed=0 failed=0"));

  // A second apply --boot on this boot changes nothing.
  Outcome again = mgr({"apply", "--boot"});
  ASSERT_EQ(again.status, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("boot: same boot sim-boot-2\n"));
  EXPECT_THAT(again.out, HasSubstr("summary: cells=3 started=0 running=2 stopped=1 failed=0 discarded=0 new-boot=NO\n"));
}

TEST_F(Boot, ANewBootIdAloneIsANewBootAndADeadDependencyHoldsBackOnlyItsDependents) {
  bootstrap();
  const std::string store_port = make_site("store", "YES");
  const std::string app_port = make_site("app", "YES", "store");
  const std::string solo_port = make_site("solo", "YES");
  ASSERT_EQ(mgr({"apply"}).status, 0);
  ASSERT_EQ(mgr({"apply", "--boot"}).status, 0);

  // A host whose /run survives the reboot: only the boot id tells. store's page is gone, so
  // its healthcheck fails after the boot: app must not start, solo must.
  ASSERT_NO_FATAL_FAILURE(simulate_reboot("sim-boot-2", /*clear_run_dir=*/false));
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(paths_->cells_dir() + "/store", ec)) {
    if (e.path().filename() == "index.html") fs::remove(e.path());
  }
  Outcome boot = mgr({"apply", "--boot"});
  EXPECT_EQ(boot.status, 1) << boot.out << boot.err;
  EXPECT_THAT(boot.out, HasSubstr("boot: new boot sim-boot-2 (recorded: sim-boot-1)\n"));
  EXPECT_THAT(boot.out, HasSubstr("\ncell store: FAILED: "));
  EXPECT_THAT(boot.out, HasSubstr("\ncell app: skipped: depends on store, which did not start\n"));
  EXPECT_THAT(boot.out, ::testing::ContainsRegex("\ncell solo: started \\(cid [0-9]+\\)\n"));
  EXPECT_THAT(http_get(solo_port), HasSubstr("site solo"));
  EXPECT_EQ(http_get(app_port, 2), "");
  Outcome verify = mgr({"journal", "verify"});
  EXPECT_EQ(verify.status, 0) << verify.out << verify.err;
}

TEST_F(Boot, BadInputIsRefusedAndChangesNothing) {
  bootstrap();
  make_site("web", "YES");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"apply", "--boot", "web"}, {"apply", "--boot", "--dry-run"},
           {"apply", "--boot", "--restart-changed"}}) {
    Outcome o = mgr(args);
    EXPECT_EQ(o.status, 2) << args.back() << ": " << o.out;
    EXPECT_THAT(o.err, HasSubstr("cellmgr: --boot: takes no ")) << o.err;
  }
  // An invalid manifest: refused before the store is touched.
  ASSERT_TRUE(write_file_atomic(paths_->etc_dir() + "/broken.cell", "autostart = maybe\n").ok());
  const size_t entries = journal_count("");
  Outcome refused = mgr({"apply", "--boot"});
  EXPECT_EQ(refused.status, 1);
  EXPECT_THAT(refused.err, HasSubstr("refusing to boot, nothing was changed"));
  EXPECT_THAT(refused.err, HasSubstr("broken.cell"));
  EXPECT_EQ(journal_count(""), entries);
  struct stat st;
  EXPECT_NE(::stat((paths_->run_dir() + "/boot_id").c_str(), &st), 0);
  fs::remove(paths_->etc_dir() + "/broken.cell");
  // A boot id that cannot be read is named.
  fs::remove(boot_id_file_);
  Outcome no_id = mgr({"apply", "--boot"});
  EXPECT_EQ(no_id.status, 1);
  EXPECT_THAT(no_id.err, HasSubstr(boot_id_file_));
  EXPECT_EQ(journal_count(""), entries);
  EXPECT_FALSE(cgroup_parent_exists());
}

}  // namespace
}  // namespace cells::controlplane::testing
