// The cell's policy as seen by processes spawned long after create: the writable paths the
// cell was created with (from the registry record), and one Landlock domain per cell.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "tests/kernel/fixture.h"

namespace cells::kernel::testing {
namespace {
namespace fs = std::filesystem;

class CellPolicyTest : public RuntimeTest {
 protected:
  // Runs ARGV in CELL (shared_domain as given) and returns its status and combined output.
  Captured run_cmd(const CellInfo& cell, const std::vector<std::string>& argv, bool shared) {
    int out[2];
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    SpawnOptions opts;
    opts.argv = argv;
    opts.stdout_fd = out[1];
    opts.stderr_fd = out[1];
    opts.shared_domain = shared;
    auto child = runtime_->spawn(cell, opts);
    close(out[1]);
    Captured c;
    if (!child.ok()) {
      close(out[0]);
      c.err = child.error().message();
      return c;
    }
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) c.out.append(buf, size_t(n));
    close(out[0]);
    auto st = wait_spawned(*child);
    EXPECT_TRUE(st.ok());
    c.status = !st.ok() ? -1 : WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + (*st & 0x7f);
    return c;
  }
  // A long-running process of CELL spawned like the service; returns it and its pid as the
  // cell sees it.
  std::pair<Child, std::string> start_service(const CellInfo& cell) {
    SpawnOptions opts;
    opts.argv = {"sleep", "1000"};
    opts.shared_domain = true;
    auto child = runtime_->spawn(cell, opts);
    EXPECT_TRUE(child.ok()) << (child.ok() ? "" : child.error().message());
    if (!child.ok()) return {};
    EXPECT_TRUE(child->reaped_by_cell);
    // NSpid: the host pid, then the pid in the cell's namespace.
    std::ifstream status("/proc/" + std::to_string(child->pid) + "/status");
    std::string line, inner;
    while (std::getline(status, line)) {
      if (line.rfind("NSpid:", 0) == 0) inner = line.substr(line.find_last_of(" \t") + 1);
    }
    return {std::move(*child), inner};
  }
  CellInfo create_high_with_data(const std::string& name, uint32_t cid) {
    CellSpec spec;
    spec.name = name;
    spec.cid = cid;
    spec.root = make_busybox_root();
    fs::create_directories(spec.root + "/data");
    fs::create_directories(spec.root + "/etc");
    spec.profile = Profile::kHigh;
    spec.writable_paths = {"/data", "/tmp"};
    auto info = runtime_->create(spec);
    EXPECT_TRUE(info.ok()) << (info.ok() ? "" : info.error().message());
    return info.ok() ? *info : CellInfo{};
  }
};

TEST_F(CellPolicyTest, LaterSpawnsKeepTheCellsWritablePaths) {
  create_high_with_data("web", 7);
  // A later process (cellctl exec, the supervisor) knows the cell only from the registry.
  auto found = runtime_->find("web");
  ASSERT_TRUE(found.ok()) << found.error().message();
  EXPECT_EQ(found->writable_paths, (std::vector<std::string>{"/data", "/tmp"}));
  Captured data = run_in(*found, {"sh", "-c", "echo hi > /data/f && cat /data/f"});
  EXPECT_EQ(data.status, 0) << data.err;
  EXPECT_EQ(data.out, "hi\n");
  Captured etc = run_in(*found, {"sh", "-c", "echo x > /etc/f"});
  EXPECT_NE(etc.status, 0);
  EXPECT_NE(etc.err.find("Permission denied"), std::string::npos) << etc.err;
  EXPECT_FALSE(fs::exists(found->root + "/etc/f"));
}

class SharedDomainTest : public CellPolicyTest,
                         public ::testing::WithParamInterface<Profile> {};

TEST_P(SharedDomainTest, ProcessesOfOneCellSignalEachOtherInBothDirections) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  // exec -> service: a later process signals the one started before it.
  auto [service, service_pid] = start_service(cell);
  ASSERT_FALSE(service_pid.empty());
  Captured killed = run_cmd(cell, {"kill", "-TERM", service_pid}, /*shared=*/true);
  EXPECT_EQ(killed.status, 0) << killed.out << killed.err;
  auto st = wait_spawned(service);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(WIFSIGNALED(*st) && WTERMSIG(*st) == SIGTERM) << *st;

  // service -> exec: the one started first signals a later one too.
  auto [shell, shell_pid] = start_service(cell);
  ASSERT_FALSE(shell_pid.empty());
  Captured back = run_cmd(cell, {"kill", "-0", shell_pid}, /*shared=*/true);
  EXPECT_EQ(back.status, 0) << back.out << back.err;
  // A process in a Landlock domain of its own (the old spawn) is refused: the scope is real.
  Captured own = run_cmd(cell, {"kill", "-0", shell_pid}, /*shared=*/false);
  EXPECT_NE(own.status, 0);
  EXPECT_NE(own.out.find("not permitted"), std::string::npos) << own.out;
  ASSERT_EQ(kill(shell.pid, SIGKILL), 0);
  EXPECT_TRUE(wait_spawned(shell).ok());
}

TEST_P(SharedDomainTest, OtherCellsCannotSignalTheCellsProcesses) {
  CellInfo web = create_cell("web", GetParam(), 7);
  CellInfo db = create_cell("db", GetParam(), 8);
  auto [service, inner] = start_service(web);
  ASSERT_FALSE(inner.empty());
  for (const std::string& pid : {std::to_string(service.pid), inner}) {
    if (pid == "1" || pid == "2") continue;  // db's own init and shell would answer
    Captured c = run_cmd(db, {"kill", "-KILL", pid}, /*shared=*/true);
    EXPECT_NE(c.status, 0) << "pid " << pid << ": " << c.out;
  }
  auto alive = try_wait_spawned(service);
  ASSERT_TRUE(alive.ok());
  EXPECT_FALSE(alive->has_value()) << "web's service was killed from db";
  // Nor the other way round.
  auto [db_service, db_inner] = start_service(db);
  Captured c = run_cmd(web, {"kill", "-KILL", std::to_string(db_service.pid)}, true);
  EXPECT_NE(c.status, 0) << c.out;
  EXPECT_FALSE(try_wait_spawned(db_service)->has_value());
  kill(service.pid, SIGKILL);
  kill(db_service.pid, SIGKILL);
  EXPECT_TRUE(wait_spawned(service).ok());
  EXPECT_TRUE(wait_spawned(db_service).ok());
}

TEST_P(SharedDomainTest, SpawnFailuresAreReportedByStep) {
  CellInfo cell = create_cell("web", GetParam(), 7);
  SpawnOptions opts;
  opts.argv = {"/nonexistent/prog"};
  opts.shared_domain = true;
  auto missing = runtime_->spawn(cell, opts);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(),
            "spawn in cell web: exec /nonexistent/prog: No such file or directory");
  opts.argv = {"true"};
  opts.cwd = "/no/such/dir";
  auto cwd = runtime_->spawn(cell, opts);
  ASSERT_FALSE(cwd.ok());
  EXPECT_NE(cwd.error().message().find("chdir"), std::string::npos) << cwd.error().message();
  // A command that exits at once still has a pid and an exit status.
  Captured quick = run_cmd(cell, {"sh", "-c", "exit 3"}, true);
  EXPECT_EQ(quick.status, 3) << quick.err;
}

INSTANTIATE_TEST_SUITE_P(Profiles, SharedDomainTest,
                         ::testing::Values(Profile::kLow, Profile::kHigh),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST_F(CellPolicyTest, BadWritablePathsAreRefusedAtCreate) {
  CellSpec spec;
  spec.name = "web";
  spec.cid = 7;
  spec.root = make_busybox_root();
  spec.profile = Profile::kHigh;
  for (const char* bad : {"data", "/a:b", "/data/../etc"}) {
    spec.writable_paths = {bad};
    auto r = runtime_->create(spec);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid) << r.error().message();
    EXPECT_TRUE(cgroups().empty());
    EXPECT_TRUE(registry_records().empty());
  }
}

}  // namespace
}  // namespace cells::kernel::testing
