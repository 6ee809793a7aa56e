// Runtime on real cells: identity, namespaces, /proc, cgroup membership, destroy semantics,
// for the low (no user namespace) and high (user namespace + idmapped root) profiles.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernel/cgroup.h"
#include "kernel/features.h"
#include "kernel/seed_ns.h"
#include "tests/kernel/fixture.h"

namespace cells::kernel::testing {
namespace {
namespace fs = std::filesystem;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The mount points of a mountinfo TABLE (its fifth field), sorted.
std::vector<std::string> mount_points(const std::string& table) {
  std::vector<std::string> points;
  for (const auto& l : lines(table)) {
    std::istringstream f(l);
    std::string id, parent, dev, root, point;
    f >> id >> parent >> dev >> root >> point;
    points.push_back(point);
  }
  std::sort(points.begin(), points.end());
  return points;
}

class ProfileTest : public RuntimeTest, public ::testing::WithParamInterface<Profile> {};

TEST_P(ProfileTest, ExecRunsInTheCellsPidNamespaceWithItsHostname) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  ASSERT_GT(cell.init_pid, 0);
  Captured c = run_in(cell, {"sh", "-c", "echo $$; hostname"});
  ASSERT_EQ(c.status, 0) << c.err;
  auto out = lines(c.out);
  ASSERT_EQ(out.size(), 2u) << c.out;
  int pid = std::stoi(out[0]);
  EXPECT_GT(pid, 1) << "pid 1 is the cell's init";
  EXPECT_LT(pid, 100) << "a pid of the cell's own namespace, not a host pid";
  EXPECT_EQ(out[1], "web");
}

TEST_P(ProfileTest, ProcShowsOnlyTheCellsProcessesAndPsSeesTheOtherProcess) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "1000"};
  auto child = runtime_->spawn(cell, sleeper);
  ASSERT_TRUE(child.ok()) << child.error().message();

  Captured ps = run_in(cell, {"ps", "-o", "pid,args"});
  ASSERT_EQ(ps.status, 0) << ps.err;
  EXPECT_NE(ps.out.find("sleep 1000"), std::string::npos) << ps.out;
  EXPECT_NE(ps.out.find("cellctl init cell=web cid=7"), std::string::npos) << ps.out;

  // /proc lists init, the sleeper and ls itself, nothing of the host.
  Captured ls = run_in(cell, {"ls", "/proc"});
  ASSERT_EQ(ls.status, 0) << ls.err;
  auto entries = lines(ls.out);
  size_t numeric = std::count_if(entries.begin(), entries.end(), [](const std::string& e) {
    return !e.empty() && std::all_of(e.begin(), e.end(), ::isdigit);
  });
  EXPECT_EQ(numeric, 3u) << ls.out;
}

TEST_P(ProfileTest, SpawnedProcessesAreInTheCellCgroupFromBirth) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "1000"};
  auto child = runtime_->spawn(cell, sleeper);
  ASSERT_TRUE(child.ok()) << child.error().message();
  auto pids = runtime_->pids(cell);
  ASSERT_TRUE(pids.ok());
  EXPECT_NE(std::find(pids->begin(), pids->end(), child->pid), pids->end());
  EXPECT_NE(std::find(pids->begin(), pids->end(), cell.init_pid), pids->end());
  // The cgroup id is the directory's inode.
  struct stat st {};
  ASSERT_EQ(stat((paths_->cgroup_parent() + "/web").c_str(), &st), 0);
  EXPECT_EQ(cell.cgroup_id, st.st_ino);
  // The cell sees its cgroup as the root of its cgroup namespace.
  Captured c = run_in(cell, {"cat", "/proc/self/cgroup"});
  EXPECT_NE(c.out.find("0::/\n"), std::string::npos) << c.out;
}

TEST_P(ProfileTest, DestroyIsRefusedWhileBusyAndForceKillsEverything) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  // One process in a new session that ignores SIGTERM, one ordinary one.
  Captured start = run_in(cell, {"sh", "-c",
                                 "setsid sh -c 'trap \"\" TERM; sleep 1000' >/dev/null 2>&1 & "
                                 "sleep 1000 >/dev/null 2>&1 & echo ok"});
  ASSERT_EQ(start.status, 0) << start.err;
  auto pids = *runtime_->pids(cell);
  size_t others = pids.size() - 1;  // all but init
  ASSERT_GE(others, 2u);
  auto busy = runtime_->destroy("web", /*force=*/false);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind(), ErrorKind::kBusy);
  EXPECT_EQ(busy.error().message(),
            "cell web has " + std::to_string(others) + " processes; use --force");
  EXPECT_TRUE(runtime_->find("web").ok()) << "a refused destroy changes nothing";

  ASSERT_TRUE(runtime_->destroy("7", /*force=*/true).ok());
  for (pid_t p : pids) {
    // Gone, or a zombie waiting for its parent (dead either way).
    std::ifstream stat("/proc/" + std::to_string(p) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(text.empty() || text.find(") Z ") != std::string::npos)
        << "pid " << p << " survived destroy --force: " << text;
  }
  EXPECT_FALSE(fs::exists(paths_->cgroup_parent() + "/web"));
  EXPECT_EQ(runtime_->find("web").error().kind(), ErrorKind::kNotFound);
  EXPECT_TRUE(registry_records().empty());
}

TEST_P(ProfileTest, IdleCellIsDestroyedWithoutForce) {
  create_cell("web", GetParam(), 7);
  ASSERT_TRUE(runtime_->destroy("web", /*force=*/false).ok());
  EXPECT_TRUE(cgroups().empty());
}

// The cell's mount namespace is a copy of the seed's few mounts, not of the host's: mounts the
// host has when the cell starts are not in it (decision 75), and its /dev nodes, bound through
// the seed, work.
TEST_P(ProfileTest, TheCellsMountNamespaceHoldsNoHostMount) {
  const std::string host_mounts = scratch_ + "/host-mounts";
  for (int i = 0; i < 20; ++i) {
    const std::string m = host_mounts + "/m" + std::to_string(i);
    fs::create_directories(m);
    ASSERT_EQ(mount("tmpfs", m.c_str(), "tmpfs", 0, "size=16k"), 0) << m;
  }
  CellInfo cell = create_cell("web", GetParam(), 7);
  ASSERT_GT(cell.init_pid, 0);
  std::ifstream in("/proc/" + std::to_string(cell.init_pid) + "/mountinfo");
  std::string table((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(mount_points(table),
            (std::vector<std::string>{"/", "/dev", "/dev/full", "/dev/null", "/dev/pts",
                                      "/dev/random", "/dev/shm", "/dev/tty", "/dev/urandom",
                                      "/dev/zero", "/proc"}));
  Captured c = run_in(cell, {"sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c"});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "4\n");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(umount2((host_mounts + "/m" + std::to_string(i)).c_str(), 0), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, ProfileTest,
                         ::testing::Values(Profile::kLow, Profile::kMedium, Profile::kHigh),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_F(RuntimeTest, HighProfileRootIsAnUnprivilegedHostUid) {
  CellInfo cell = create_cell("web", Profile::kHigh, 7);
  SpawnOptions sleeper;
  sleeper.argv = {"sleep", "1000"};
  auto child = runtime_->spawn(cell, sleeper);
  ASSERT_TRUE(child.ok()) << child.error().message();
  struct stat st {};
  ASSERT_EQ(stat(("/proc/" + std::to_string(child->pid)).c_str(), &st), 0);
  EXPECT_GE(st.st_uid, 1u << 30) << "host uid of the cell's root";
  // init runs as the same unprivileged host uid.
  std::string init_proc = "/proc/" + std::to_string(cell.init_pid);
  std::ifstream status(init_proc + "/status");
  std::string line, uid_line;
  while (std::getline(status, line)) {
    if (line.rfind("Uid:", 0) == 0) uid_line = line;
  }
  EXPECT_NE(uid_line.find(std::to_string(st.st_uid)), std::string::npos) << uid_line;
  // Inside, it is root, and the idmapped root shows the base files as its own.
  Captured c = run_in(cell, {"sh", "-c", "id -u; stat -c %u /bin/busybox; touch /tmp/f && echo w"});
  EXPECT_EQ(c.out, "0\n0\nw\n") << c.err;
  // What the cell writes lands on disk as host root (the idmapped mount maps it back).
  struct stat f {};
  ASSERT_EQ(stat((cell.root + "/tmp/f").c_str(), &f), 0);
  EXPECT_EQ(f.st_uid, 0u);
}

TEST_F(RuntimeTest, LowProfileHasNoUserNamespace) {
  CellInfo cell = create_cell("web", Profile::kLow, 7);
  Captured c = run_in(cell, {"cat", "/proc/self/uid_map"});
  EXPECT_NE(c.out.find("4294967295"), std::string::npos) << c.out;
}

TEST_F(RuntimeTest, CellWithAHostUsrRootRunsHostBinaries) {
  std::string root = scratch_ + "/hostroot";
  fs::create_directories(root + "/usr");
  for (const char* l : {"bin", "lib", "lib64", "sbin"}) {
    fs::create_symlink(std::string("usr/") + l, root + "/" + l);
  }
  ASSERT_EQ(mount("/usr", (root + "/usr").c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0);
  ASSERT_EQ(mount(nullptr, (root + "/usr").c_str(), nullptr,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr), 0);
  for (Profile p : {Profile::kLow, Profile::kHigh}) {
    CellSpec spec;
    spec.name = std::string("host-") + std::string(to_string(p));
    spec.cid = p == Profile::kLow ? 11 : 12;
    spec.root = root;
    spec.profile = p;
    auto cell = runtime_->create(spec);
    ASSERT_TRUE(cell.ok()) << cell.error().message();
    Captured c = run_in(*cell, {"bash", "-c", "echo $BASH_VERSION; hostname; /bin/true"});
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_NE(c.out.find(spec.name), std::string::npos) << c.out;
    Captured ro = run_in(*cell, {"touch", "/usr/bin/evil"});
    EXPECT_NE(ro.status, 0) << "host /usr must stay read-only";
    ASSERT_TRUE(runtime_->destroy(spec.name, false).ok());
  }
  EXPECT_EQ(umount2((root + "/usr").c_str(), MNT_DETACH), 0);
}

TEST_F(RuntimeTest, FailedInitSetupLeavesNothingBehind) {
  // A dynamically linked init cannot run inside a busybox root (no ld.so there): the setup
  // child's exec fails after namespaces, mounts, cgroup and BPF registration all happened.
  setenv("CELLS_INIT_PROGRAM", "/usr/bin/true", 1);
  CellSpec spec;
  spec.name = "web";
  spec.cid = 7;
  spec.root = make_busybox_root();
  spec.ports = {18080};
  auto r = runtime_->create(spec);
  unsetenv("CELLS_INIT_PROGRAM");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "start init of cell web: exec the cell init: No such file or directory");
  EXPECT_TRUE(cgroups().empty());
  EXPECT_TRUE(registry_records().empty());
  // The port reservation was rolled back too: the same spec now succeeds.
  auto again = runtime_->create(spec);
  EXPECT_TRUE(again.ok()) << again.error().message();
}

TEST_F(RuntimeTest, SpawnReportsAMissingCommandByName) {
  CellInfo cell = create_cell("web", Profile::kLow, 7);
  SpawnOptions opts;
  opts.argv = {"no-such-command"};
  auto child = runtime_->spawn(cell, opts);
  ASSERT_FALSE(child.ok());
  EXPECT_EQ(child.error().message(),
            "spawn in cell web: exec no-such-command: No such file or directory");
  SpawnOptions empty;
  EXPECT_EQ(runtime_->spawn(cell, empty).error().kind(), ErrorKind::kInvalid);
}

TEST_F(RuntimeTest, SpawnAppliesRlimitsCwdAndCredentials) {
  CellSpec spec;
  spec.name = "web";
  spec.cid = 7;
  spec.root = make_busybox_root();
  spec.profile = Profile::kLow;
  spec.rlimits.nofile = 64;
  auto cell = runtime_->create(spec);
  ASSERT_TRUE(cell.ok()) << cell.error().message();
  SpawnOptions opts;
  opts.argv = {"sh", "-c", "ulimit -n; ulimit -c; pwd; id -u; id -g"};
  opts.rlimits.core = 0;
  opts.cwd = "/bin";
  opts.run_as = Credentials{1000, 1001, {}};
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  opts.stdout_fd = out[1];
  auto child = runtime_->spawn(*cell, opts);
  close(out[1]);
  ASSERT_TRUE(child.ok()) << child.error().message();
  char buf[256] = {};
  std::string got;
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) got.append(buf, n);
  close(out[0]);
  waitpid(child->pid, nullptr, 0);
  EXPECT_EQ(got, "64\n0\n/bin\n1000\n1001\n");
}

TEST_F(RuntimeTest, ListAndFindDropStaleRecords) {
  CellInfo cell = create_cell("web", Profile::kLow, 7);
  EXPECT_EQ(runtime_->find("7")->name, "web");
  EXPECT_EQ(runtime_->find("web")->cid, 7u);
  EXPECT_EQ(runtime_->list()->size(), 1u);
  // Simulate a reboot: the cgroup is gone, the record is still there.
  auto pids = *runtime_->pids(cell);
  ASSERT_EQ(kill(cell.init_pid, SIGKILL), 0);
  waitpid(cell.init_pid, nullptr, 0);
  for (int i = 0; i < 1000 && rmdir((paths_->cgroup_parent() + "/web").c_str()) != 0; ++i) {
    usleep(1000);
  }
  EXPECT_TRUE(runtime_->list()->empty());
  EXPECT_TRUE(registry_records().empty());
  EXPECT_EQ(runtime_->find("web").error().kind(), ErrorKind::kNotFound);
}

TEST_F(RuntimeTest, OneReadOfTheCgroupParentGivesEveryCellsId) {
  EXPECT_TRUE(CellCgroup::ids_under(paths_->cgroup_parent())->empty());
  CellInfo web = create_cell("web", Profile::kLow, 7);
  CellInfo db = create_cell("db", Profile::kMedium, 8);
  auto ids = CellCgroup::ids_under(paths_->cgroup_parent());
  ASSERT_TRUE(ids.ok()) << ids.error().message();
  // The same ids a stat of each cgroup gives, and only the cells (no control files).
  EXPECT_EQ(*ids, (std::map<std::string, uint64_t>{
                      {"db", *CellCgroup::id_of(paths_->cgroup_parent(), "db")},
                      {"web", *CellCgroup::id_of(paths_->cgroup_parent(), "web")}}));
  EXPECT_EQ(ids->at("web"), web.cgroup_id);
  EXPECT_EQ(ids->at("db"), db.cgroup_id);
  EXPECT_TRUE(CellCgroup::ids_under(scratch_ + "/no-such-parent")->empty());
}

TEST_F(RuntimeTest, DuplicateNamesAndPortsAreRefused) {
  create_cell("web", Profile::kLow, 7, {28080, 28081});
  CellSpec spec;
  spec.name = "web";
  spec.cid = 8;
  spec.root = make_busybox_root();
  auto dup = runtime_->create(spec);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind(), ErrorKind::kExists);
  spec.name = "db";
  spec.ports = {9000, 28081};
  auto port = runtime_->create(spec);
  ASSERT_FALSE(port.ok());
  EXPECT_EQ(port.error().message(),
            "create cell db: port 28081 is reserved by cell web (cid 7)");
  EXPECT_EQ(cgroups(), std::vector<std::string>{"web"});
}

TEST(Features, DeepProbeFindsEverythingOnThisHost) {
  auto features = probe_features(/*deep=*/true);
  EXPECT_TRUE(require_features(features).ok()) << format_feature_table(features);
  std::string table = format_feature_table(features);
  EXPECT_EQ(table.rfind("FEATURE", 0), 0u);
  EXPECT_NE(table.find("landlock"), std::string::npos);
  EXPECT_NE(table.find("clone_into_cgroup"), std::string::npos);
}

}  // namespace
// One seed per instance, made by the first create and shared by every later one. It holds only
// a tmpfs root, the cell directory and the device nodes; release unpins it (and removes
// <run>/ns with its mount) without touching running cells, and the next create makes a new one.
TEST_F(RuntimeTest, CellsShareOneSeedThatReleaseRemoves) {
  const std::string pin = seed_pin_path(*paths_);
  CellInfo a = create_cell("a", Profile::kMedium, 7);
  struct stat first {};
  ASSERT_EQ(stat(pin.c_str(), &first), 0);
  create_cell("b", Profile::kLow, 8);
  struct stat second {};
  ASSERT_EQ(stat(pin.c_str(), &second), 0);
  EXPECT_EQ(first.st_ino, second.st_ino) << "the second create made a new seed";

  // The seed has no /proc and no programs: a child keeps the host's /proc open, joins the seed
  // and opens its own mountinfo through it (the table is of the namespace at open time).
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t reader = fork();
  if (reader == 0) {
    int proc = open("/proc", O_PATH | O_DIRECTORY);
    int ns = open(pin.c_str(), O_RDONLY);
    if (proc < 0 || ns < 0 || setns(ns, CLONE_NEWNS) != 0) _exit(1);
    int table = openat(proc, "self/mountinfo", O_RDONLY);
    if (table < 0) _exit(1);
    char buf[4096];
    for (ssize_t n; (n = read(table, buf, sizeof buf)) > 0;) {
      if (write(p[1], buf, n) != n) _exit(1);
    }
    _exit(0);
  }
  close(p[1]);
  std::string seed;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) seed.append(buf, n);
  close(p[0]);
  int status = 0;
  ASSERT_EQ(waitpid(reader, &status, 0), reader);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(mount_points(seed), (std::vector<std::string>{"/", "/dev/full", "/dev/null",
                                                          "/dev/random", "/dev/tty",
                                                          "/dev/urandom", "/dev/zero"}));

  auto released = release_seed_mount_ns(*paths_);
  ASSERT_TRUE(released.ok()) << released.error().message();
  EXPECT_TRUE(*released);
  EXPECT_FALSE(fs::exists(fs::path(pin).parent_path()));
  std::ifstream mi("/proc/self/mountinfo");
  std::string table((std::istreambuf_iterator<char>(mi)), std::istreambuf_iterator<char>());
  EXPECT_EQ(table.find(paths_->run_dir()), std::string::npos) << "a mount under <run> is left";
  EXPECT_FALSE(*release_seed_mount_ns(*paths_)) << "nothing left to release";
  EXPECT_EQ(run_in(a, {"true"}).status, 0) << "a running cell does not need the seed";
  create_cell("c", Profile::kHigh, 9);
  EXPECT_TRUE(fs::exists(pin));
}

// A create killed after making <run>/ns but before pinning leaves a plain file (or nothing)
// where the pin goes; the next create finishes the seed instead of failing.
TEST_F(RuntimeTest, AHalfMadeSeedIsFinishedByTheNextCreate) {
  const std::string pin = seed_pin_path(*paths_);
  fs::create_directories(fs::path(pin).parent_path());
  { std::ofstream(pin) << ""; }
  CellInfo a = create_cell("a", Profile::kMedium, 7);
  ASSERT_GT(a.init_pid, 0);
  Captured ns = run_host({"/usr/bin/stat", "-f", "-c", "%T", pin});
  EXPECT_EQ(ns.out, "nsfs\n") << ns.err;
}

}  // namespace cells::kernel::testing
