// The escape suite (privileged): real cells of each profile run cells_escape_probe, which
// tries every forbidden action of DESIGN section 3 and a few allowed ones; each test below
// asserts one row of the matrix for every profile it covers. Needs root; uses a scratch root,
// so its cgroups and BPF pins are its own, and removes all of them afterwards.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/paths.h"
#include "kernel/bpf_policy.h"
#include "kernel/cell.h"
#include "kernel/seed_ns.h"
#include "tests/support/free_port.h"

namespace cells::kernel {
namespace {

namespace fs = std::filesystem;
using Outcomes = std::map<std::string, int>;

constexpr const char* kProfiles[] = {"low", "medium", "high"};

bool blocked(int err) {
  return err == EPERM || err == EACCES;
}
bool invisible(int err) {
  return err == ESRCH || err == ENOENT || err == EPERM;
}

using cells::testing::free_port;

// Everything the suite creates, shared by all tests (cells take a while to create).
struct World {
  std::string scratch;
  std::optional<Paths> paths;
  std::optional<Runtime> runtime;
  std::vector<std::string> cells;  // names, for cleanup
  std::string marker;              // a host file no cell may reach
  std::string abstract_name;
  int abstract_fd = -1;
  uint16_t sibling_port = 0;
  std::map<std::string, uint16_t> own_port;
  pid_t sibling_pid = 0;
  std::optional<Child> sibling_child;
  std::map<std::string, Outcomes> outcomes;  // profile -> probe lines
  std::string host_name_before, host_name_after;
  std::string setup_error;
  int run_as_status = -1;  // exit status of a probe spawned as uid 65534
};

World* world = nullptr;

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// A root directory for a cell: the mount points the runtime needs, the default writable dirs
// and the static probe.
std::string make_cell_root(const std::string& name) {
  std::string root = world->scratch + "/roots/" + name;
  for (const char* d : {"", "/bin", "/proc", "/dev", "/tmp", "/var", "/run", "/etc"}) {
    fs::create_directories(root + d);
  }
  fs::permissions(root + "/tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::copy_file(CELLS_ESCAPE_PROBE, root + "/bin/probe");
  fs::permissions(root + "/bin/probe", fs::perms::owner_all | fs::perms::group_read |
                                           fs::perms::group_exec | fs::perms::others_read |
                                           fs::perms::others_exec);
  return root;
}

Result<CellInfo> create_cell(const std::string& name, Profile profile, uint16_t port,
                             uint32_t cid) {
  CellSpec spec;
  spec.name = name;
  spec.cid = cid;
  spec.root = make_cell_root(name);
  spec.profile = profile;
  spec.ports = {port};
  auto info = world->runtime->create(spec);
  if (info.ok()) world->cells.push_back(name);
  return info;
}

Result<Child> spawn_probe(const CellInfo& cell, std::vector<std::string> args, int out_fd) {
  SpawnOptions opts;
  opts.argv = {"/bin/probe"};
  for (auto& a : args) opts.argv.push_back(std::move(a));
  opts.stdout_fd = out_fd;
  opts.stderr_fd = 2;
  return world->runtime->spawn(cell, opts);
}

int wait_child(const Child& c) {
  siginfo_t info{};
  if (waitid(P_PIDFD, c.pidfd.get(), &info, WEXITED) != 0) return -1;
  return info.si_status;
}

Outcomes parse(const std::string& text) {
  Outcomes o;
  std::istringstream in(text);
  std::string name;
  int value = 0;
  while (in >> name >> value) o[name] = value;
  return o;
}

std::string read_all(int fd) {
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) text.append(buf, n);
  return text;
}

// Host uid of a process, from /proc/<pid>/status ("Uid: real effective saved fs").
long host_uid(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Uid:", 0) == 0) return std::strtol(line.c_str() + 4, nullptr, 10);
  }
  return -1;
}

// Runs the probe of PROFILE's cell and records its lines.
Status run_profile(const std::string& profile_name, uint32_t cid) {
  Profile profile = CELLS_TRY(parse_profile(profile_name));
  uint16_t port = free_port();
  world->own_port[profile_name] = port;
  CellInfo cell = CELLS_TRY(create_cell("esc-" + profile_name, profile, port, cid));

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Error::sys(errno, "pipe2");
  auto child = spawn_probe(
      cell,
      {"host_pid=" + std::to_string(getpid()), "sibling_pid=" + std::to_string(world->sibling_pid),
       "own_port=" + std::to_string(port), "other_port=" + std::to_string(world->sibling_port),
       "writable=/tmp", "marker=" + world->marker, "abstract=" + world->abstract_name},
      fds[1]);
  close(fds[1]);
  if (!child.ok()) {
    close(fds[0]);
    return std::move(child).error();
  }
  std::string text = read_all(fds[0]);
  close(fds[0]);
  int status = wait_child(*child);
  Outcomes o = parse(text);
  if (!o.count("done")) {
    return Error(ErrorKind::kSystem, "probe in cell " + cell.name + " did not finish (status " +
                                         std::to_string(status) + "): " + text);
  }

  // In high, cell root must be an unprivileged uid on the host: look from the host at a
  // probe that sleeps.
  if (profile == Profile::kHigh) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "pipe2");
    auto sleeper = spawn_probe(cell, {"sleep=30"}, p[1]);
    close(p[1]);
    if (!sleeper.ok()) {
      close(p[0]);
      return std::move(sleeper).error();
    }
    char buf[16];
    (void)!read(p[0], buf, sizeof buf);  // "ready": it has exec'd
    close(p[0]);
    o["host_uid_of_cell_root"] = static_cast<int>(host_uid(sleeper->pid));
    syscall(SYS_pidfd_send_signal, sleeper->pidfd.get(), SIGKILL, nullptr, 0);
    wait_child(*sleeper);
  }
  world->outcomes[profile_name] = std::move(o);
  return ok_status();
}

Status build_world() {
  char tmpl[] = "/tmp/cells-escape-XXXXXX";
  if (!mkdtemp(tmpl)) return Error::sys(errno, "mkdtemp");
  world->scratch = tmpl;
  world->paths = CELLS_TRY(Paths::from_root(world->scratch + "/install"));
  world->runtime.emplace(CELLS_TRY(Runtime::open(*world->paths)));
  world->host_name_before = hostname();

  world->marker = world->scratch + "/host-secret";
  std::ofstream(world->marker) << "host secret\n";

  // An abstract unix socket on the host (abstract names are per network namespace, which
  // cells share with the host).
  world->abstract_name = "cells-escape-" + std::to_string(getpid());
  world->abstract_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, world->abstract_name.data(), world->abstract_name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + world->abstract_name.size();
  if (bind(world->abstract_fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      listen(world->abstract_fd, 4) != 0) {
    return Error::sys(errno, "bind abstract unix socket");
  }

  // The sibling cell: owns a port and runs a process the other cells must not reach.
  world->sibling_port = free_port();
  CellInfo sibling = CELLS_TRY(create_cell("esc-sibling", Profile::kLow, world->sibling_port, 900));
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return Error::sys(errno, "pipe2");
  auto child = spawn_probe(sibling, {"sleep=300"}, p[1]);
  close(p[1]);
  if (!child.ok()) {
    close(p[0]);
    return std::move(child).error();
  }
  char buf[16];
  (void)!read(p[0], buf, sizeof buf);
  close(p[0]);
  world->sibling_pid = child->pid;
  world->sibling_child.emplace(std::move(*child));

  uint32_t cid = 901;
  for (const char* profile : kProfiles) CELLS_TRY(run_profile(profile, cid++));

  // A service that runs as a non-root user still gets the whole policy (the policy is entered
  // while the spawn still holds CAP_SETPCAP, then the credentials change).
  CellInfo medium = CELLS_TRY(world->runtime->find("esc-medium"));
  SpawnOptions opts;
  opts.argv = {"/bin/probe", "sleep=0"};
  opts.run_as = Credentials{65534, 65534, {}};
  opts.stderr_fd = 2;
  auto nobody = world->runtime->spawn(medium, opts);
  if (!nobody.ok()) return std::move(nobody).error().wrap("spawn as uid 65534");
  world->run_as_status = wait_child(*nobody);
  world->host_name_after = hostname();
  return ok_status();
}

class EscapeSuite : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    world = new World;
    if (geteuid() != 0) {
      world->setup_error = "the escape suite needs root";
      return;
    }
    if (auto st = build_world(); !st.ok()) world->setup_error = st.error().message();
    print_matrix();
  }

  // The probe's lines side by side, one row per check, so a failure shows its neighbours.
  static void print_matrix() {
    std::map<std::string, std::map<std::string, int>> rows;
    for (const auto& [profile, o] : world->outcomes) {
      for (const auto& [check, value] : o) rows[check][profile] = value;
    }
    std::printf("%-24s %8s %8s %8s\n", "check", "low", "medium", "high");
    for (const auto& [check, by_profile] : rows) {
      std::printf("%-24s", check.c_str());
      for (const char* p : kProfiles) {
        auto it = by_profile.find(p);
        std::string v = it == by_profile.end() ? "-" : std::to_string(it->second);
        if (it != by_profile.end() && it->second > 0 && it->second < 134 && check != "uid" &&
            check != "host_uid_of_cell_root") {
          v = strerrorname_np(it->second);
        }
        std::printf(" %8s", v.c_str());
      }
      std::printf("\n");
    }
  }

  static void TearDownTestSuite() {
    if (world->sibling_child) {
      syscall(SYS_pidfd_send_signal, world->sibling_child->pidfd.get(), SIGKILL, nullptr, 0);
      wait_child(*world->sibling_child);
    }
    if (world->runtime) {
      for (const auto& name : world->cells) {
        auto st = world->runtime->destroy(name, /*force=*/true);
        if (!st.ok()) ADD_FAILURE() << "destroy " << name << ": " << st.error().message();
      }
    }
    if (world->paths) {
      auto st = BpfPolicy::unload(*world->paths);
      if (!st.ok()) ADD_FAILURE() << "unload BPF: " << st.error().message();
      auto seed = release_seed_mount_ns(*world->paths);
      if (!seed.ok()) ADD_FAILURE() << "release the seed: " << seed.error().message();
    }
    if (world->abstract_fd >= 0) close(world->abstract_fd);
    std::error_code ec;
    if (!world->scratch.empty()) fs::remove_all(world->scratch, ec);
    delete world;
    world = nullptr;
  }

 protected:
  void SetUp() override {
    if (!world->setup_error.empty()) GTEST_FAIL() << "setup: " << world->setup_error;
  }
  // The probe's result for CHECK in PROFILE's cell; fails the test if the line is missing.
  int at(const std::string& profile, const std::string& check) {
    auto& o = world->outcomes[profile];
    auto it = o.find(check);
    if (it == o.end()) {
      ADD_FAILURE() << profile << ": probe printed no line for " << check;
      return -1;
    }
    return it->second;
  }
};

TEST_F(EscapeSuite, HostAndSiblingProcessesCannotBeSeenSignalledOrTraced) {
  for (const char* p : kProfiles) {
    for (const char* check : {"kill_host", "kill_sibling", "ptrace_host", "ptrace_sibling",
                              "proc_host", "proc_sibling", "pidfd_host"}) {
      EXPECT_TRUE(invisible(at(p, check))) << p << " " << check << " = " << at(p, check);
    }
    EXPECT_EQ(at(p, "kill_own_child"), 0) << p;
    EXPECT_EQ(at(p, "connect_abstract_host"), EPERM) << p;
  }
}

TEST_F(EscapeSuite, ReservedPortsOfAnotherCellCannotBeBound) {
  for (const char* p : kProfiles) {
    for (const char* check :
         {"bind_tcp4_other", "bind_udp4_other", "bind_tcp6_other", "bind_udp6_other"}) {
      EXPECT_TRUE(blocked(at(p, check))) << p << " " << check << " = " << at(p, check);
    }
    for (const char* check : {"bind_tcp4_own", "bind_udp4_own", "bind_tcp6_own", "bind_udp6_own"}) {
      EXPECT_EQ(at(p, check), 0) << p << " " << check;
    }
  }
}

TEST_F(EscapeSuite, HostNonRootCannotBindAReservedPort) {
  pid_t pid = fork();
  if (pid == 0) {
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(100);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(world->sibling_port);
    _exit(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : errno);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), EPERM);
}

TEST_F(EscapeSuite, KernelReachingCallsAreDeniedInEveryProfile) {
  for (const char* p : kProfiles) {
    for (const char* check :
         {"bpf", "init_module", "finit_module", "kexec_load", "reboot", "syslog", "unshare_mnt",
          "unshare_user", "unshare_net", "setns", "clone_newns", "open_by_handle_at"}) {
      EXPECT_EQ(at(p, check), EPERM) << p << " " << check;
    }
    EXPECT_EQ(at(p, "clone3"), ENOSYS) << p;
  }
}

TEST_F(EscapeSuite, HostFilesAreUnreachable) {
  for (const char* p : kProfiles) {
    for (const char* check : {"read_shadow", "read_root_home", "marker_direct", "marker_proc1_root",
                              "marker_host_root", "marker_dotdot", "marker_symlink"}) {
      EXPECT_NE(at(p, check), 0) << p << " " << check << " reached a host file";
    }
    EXPECT_NE(at(p, "cgroup_release_agent"), 0) << p;
  }
}

TEST_F(EscapeSuite, MountTimeSwapHostnameDeniedInMediumAndHigh) {
  for (const char* p : {"medium", "high"}) {
    for (const char* check : {"mount", "umount", "pivot_root", "chroot", "sethostname",
                              "settimeofday", "clock_settime", "swapon", "cgroup_mount"}) {
      EXPECT_EQ(at(p, check), EPERM) << p << " " << check;
    }
  }
  // low defers (DESIGN: "–"): the kernel got as far as the deliberately bad pointer.
  for (const char* check : {"mount", "umount", "chroot", "settimeofday", "cgroup_mount"}) {
    EXPECT_EQ(at("low", check), EFAULT) << "low " << check;
  }
  // Whatever low did to its own UTS namespace, the host's name is untouched.
  EXPECT_EQ(world->host_name_after, world->host_name_before);
}

TEST_F(EscapeSuite, SysctlDevicesRawSocketsDeniedInMediumAndHigh) {
  for (const char* p : {"medium", "high"}) {
    int sysctl = at(p, "sysctl_write");
    EXPECT_TRUE(sysctl == EPERM || sysctl == EACCES || sysctl == EROFS) << p << " " << sysctl;
    for (const char* check :
         {"mknod_char", "mknod_block", "raw_socket4", "raw_socket6", "packet_socket"}) {
      EXPECT_TRUE(blocked(at(p, check))) << p << " " << check << " = " << at(p, check);
    }
  }
}

TEST_F(EscapeSuite, HighCellRootIsAnUnprivilegedHostUid) {
  EXPECT_EQ(at("high", "uid"), 0);  // root inside ...
  long host = at("high", "host_uid_of_cell_root");
  EXPECT_GT(host, 0);  // ... but not on the host
  EXPECT_NE(host, 65534);
}

TEST_F(EscapeSuite, HighWritesOnlyItsWritablePaths) {
  for (const char* p : kProfiles) EXPECT_EQ(at(p, "write_writable"), 0) << p;
  EXPECT_EQ(at("high", "write_outside"), EACCES);
  EXPECT_EQ(at("medium", "write_outside"), 0);
}

TEST_F(EscapeSuite, NonRootServiceStartsUnderThePolicy) {
  EXPECT_EQ(world->run_as_status, 0);
}

}  // namespace
}  // namespace cells::kernel
