// Unit tests of the in-process policy: a forked child enters each profile and attempts
// forbidden and allowed system calls; the parent asserts the errno of each attempt. Deliberate
// bad pointers make "allowed" show as EFAULT where "blocked" shows as EPERM, so nothing on the
// host is changed when a check is allowed.
#include "kernel/policy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/reboot.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grp.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "kernel/seccomp.h"

namespace cells::kernel {
namespace {

// "name errno" lines from the child, errno 0 = the call succeeded.
using Outcomes = std::map<std::string, int>;

class Report {
 public:
  explicit Report(int fd) : fd_(fd) {}
  // Records the errno of a call that returns -1 on failure.
  void check(const char* name, long rc) { put(name, rc < 0 ? errno : 0); }
  void put(const char* name, int err) { dprintf(fd_, "%s %d\n", name, err); }

 private:
  int fd_;
};

struct Confined {
  int enter_err = -1;
  PolicyStep step = PolicyStep::kNone;
  Outcomes outcomes;
};

// Forks; the child enters POLICY, runs BODY and exits. The gtest process is single-threaded,
// so the child may allocate.
Confined run_confined(const PreparedPolicy& policy, const std::function<void(Report&)>& body) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Report report(fds[1]);
    PolicyStep step = PolicyStep::kNone;
    int err = enter_policy(policy, &step);
    dprintf(fds[1], "enter %d %d\n", err, static_cast<int>(step));
    if (err == 0) body(report);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status)) << "child died with status " << status;

  Confined c;
  std::istringstream in(text);
  std::string name;
  while (in >> name) {
    if (name == "enter") {
      int step = 0;
      in >> c.enter_err >> step;
      c.step = static_cast<PolicyStep>(step);
    } else {
      in >> c.outcomes[name];
    }
  }
  return c;
}

CellInfo cell_of(Profile profile, std::vector<uint16_t> ports = {},
                 std::vector<std::string> writable = {}) {
  CellInfo c;
  c.cid = 1;
  c.name = "policy-test";
  c.profile = profile;
  c.ports = std::move(ports);
  c.writable_paths = std::move(writable);
  return c;
}

// A TCP port that is free right now (bound to port 0 and released).
uint16_t free_tcp_port() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), len), 0);
  EXPECT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  close(s);
  return ntohs(a.sin_port);
}

long try_bind(int type, uint16_t port) {
  int s = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  long rc = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  int err = errno;
  close(s);
  errno = err;
  return rc;
}

long try_socket(int domain, int type, int proto) {
  int s = socket(domain, type, proto);
  if (s >= 0) close(s);
  return s;
}

long try_open_write(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  return fd;
}

// The checks every profile shares: namespaces, kernel-reaching calls, scoping.
void common_checks(Report& r) {
  r.put("no_new_privs", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : EINVAL);
  r.check("unshare_newns", unshare(CLONE_NEWNS));
  r.check("unshare_newuser", unshare(CLONE_NEWUSER));
  r.check("setns", setns(-1, 0));  // allowed would be EBADF
  r.check("clone_newpid", syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0));
  r.check("clone3", syscall(SYS_clone3, nullptr, 0));  // allowed would be EFAULT/EINVAL
  r.check("bpf", syscall(SYS_bpf, 0, nullptr, 0));
  r.check("init_module", syscall(SYS_init_module, nullptr, 0, nullptr));
  r.check("kexec_load", syscall(SYS_kexec_load, 0, 0, nullptr, 0));
  r.check("reboot", syscall(SYS_reboot, 0, 0, 0, nullptr));  // bad magic: allowed = EINVAL
  r.check("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, nullptr, 0));
  r.check("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0));
  r.put("capbset_sys_module", prctl(PR_CAPBSET_READ, CAP_SYS_MODULE, 0, 0, 0) == 0 ? 0 : 1);
  r.put("capbset_bpf", prctl(PR_CAPBSET_READ, CAP_BPF, 0, 0, 0) == 0 ? 0 : 1);
  r.check("kill_parent", kill(getppid(), 0));

  // Threads: glibc's clone3 gets ENOSYS and falls back to clone, which the filter allows.
  pthread_t t;
  int terr = pthread_create(
      &t, nullptr, [](void*) -> void* { return nullptr; }, nullptr);
  if (terr == 0) pthread_join(t, nullptr);
  r.put("thread", terr);

  // Signalling its own children works (same Landlock domain, same namespaces).
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  r.check("kill_own_child", child < 0 ? -1 : kill(child, SIGKILL));
  if (child > 0) waitpid(child, nullptr, 0);
}

TEST(Policy, PrepareRejectsRelativeWritablePath) {
  auto r = prepare_policy(cell_of(Profile::kHigh, {}, {"tmp"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  EXPECT_NE(r.error().message().find("writable path 'tmp'"), std::string::npos)
      << r.error().message();
}

TEST(Policy, PrepareRejectsDotDotWritablePath) {
  auto r = prepare_policy(cell_of(Profile::kHigh, {}, {"/tmp/../etc"}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
  EXPECT_NE(r.error().message().find("'/tmp/../etc'"), std::string::npos);
}

TEST(Policy, PrepareRejectsPortZeroInEveryProfile) {
  for (Profile p : {Profile::kLow, Profile::kMedium, Profile::kHigh}) {
    auto r = prepare_policy(cell_of(p, {80, 0}));
    ASSERT_FALSE(r.ok()) << to_string(p);
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalid);
    EXPECT_NE(r.error().message().find("port 0"), std::string::npos) << r.error().message();
  }
}

TEST(Policy, SeccompFilterGrowsWithProfile) {
  auto low = build_seccomp_filter(Profile::kLow);
  auto medium = build_seccomp_filter(Profile::kMedium);
  ASSERT_TRUE(low.ok()) << low.error().message();
  ASSERT_TRUE(medium.ok()) << medium.error().message();
  EXPECT_GT(low->size(), 10u);
  EXPECT_GT(medium->size(), low->size());
}

TEST(Policy, CapabilityMasks) {
  const uint64_t low = caps_keep_mask(Profile::kLow);
  const uint64_t medium = caps_keep_mask(Profile::kMedium);
  EXPECT_EQ(medium, caps_keep_mask(Profile::kHigh));
  auto has = [](uint64_t m, int cap) { return (m >> cap) & 1; };
  for (int cap : {CAP_SYS_MODULE, CAP_SYS_BOOT, CAP_BPF, CAP_PERFMON, CAP_SYSLOG, CAP_MAC_ADMIN,
                  CAP_MAC_OVERRIDE, CAP_AUDIT_CONTROL, CAP_SYS_RAWIO}) {
    EXPECT_FALSE(has(low, cap)) << cap;
    EXPECT_FALSE(has(medium, cap)) << cap;
  }
  for (int cap : {CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW, CAP_MKNOD, CAP_DAC_READ_SEARCH,
                  CAP_SYS_TIME, CAP_SYS_CHROOT}) {
    EXPECT_TRUE(has(low, cap)) << cap;
    EXPECT_FALSE(has(medium, cap)) << cap;
  }
  EXPECT_TRUE(has(medium, CAP_NET_BIND_SERVICE));
  EXPECT_TRUE(has(medium, CAP_SETUID));
}

class Confinement : public ::testing::TestWithParam<Profile> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (capability bounding set)";
  }
};

TEST_P(Confinement, CommonRowHoldsInEveryProfile) {
  auto policy = prepare_policy(cell_of(GetParam()));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(*policy, common_checks);
  ASSERT_EQ(c.enter_err, 0) << to_string(c.step) << ": " << strerror(c.enter_err);
  Outcomes& o = c.outcomes;
  EXPECT_EQ(o["no_new_privs"], 0);
  for (const char* name :
       {"unshare_newns", "unshare_newuser", "setns", "clone_newpid", "bpf", "init_module",
        "kexec_load", "reboot", "syslog", "open_by_handle_at", "kill_parent"}) {
    EXPECT_EQ(o.at(name), EPERM) << name;
  }
  EXPECT_EQ(o["clone3"], ENOSYS);
  EXPECT_EQ(o["capbset_sys_module"], 0);
  EXPECT_EQ(o["capbset_bpf"], 0);
  EXPECT_EQ(o["thread"], 0);
  EXPECT_EQ(o["kill_own_child"], 0);
}

TEST_P(Confinement, MountTimeHostnameRawSockets) {
  auto policy = prepare_policy(cell_of(GetParam()));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  auto bad = reinterpret_cast<char*>(1);
  Confined c = run_confined(*policy, [&](Report& r) {
    r.check("mount", mount(bad, bad, bad, 0, nullptr));
    r.check("sethostname", sethostname(bad, 4));
    r.check("settimeofday", syscall(SYS_settimeofday, bad, nullptr));  // libc would read it
    r.check("chroot", chroot(bad));
    r.check("pivot_root", syscall(SYS_pivot_root, bad, bad));
    r.check("fsopen", syscall(SYS_fsopen, bad, 0));
    r.check("packet_socket", try_socket(AF_PACKET, SOCK_RAW, 0));
    r.check("raw_socket", try_socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP));
    r.check("udp_socket", try_socket(AF_INET, SOCK_DGRAM, 0));
    r.put("capbset_sys_admin", prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) == 0 ? 0 : 1);
  });
  ASSERT_EQ(c.enter_err, 0) << to_string(c.step) << ": " << strerror(c.enter_err);
  Outcomes& o = c.outcomes;
  EXPECT_EQ(o["udp_socket"], 0);
  if (GetParam() == Profile::kLow) {
    // Allowed in low: the kernel reached the bad pointer, so nothing changed on the host.
    for (const char* name : {"mount", "sethostname", "settimeofday", "chroot", "fsopen"}) {
      EXPECT_EQ(o.at(name), EFAULT) << name;
    }
    EXPECT_EQ(o["packet_socket"], 0);
    EXPECT_EQ(o["raw_socket"], 0);
    EXPECT_EQ(o["capbset_sys_admin"], 1);
  } else {
    for (const char* name : {"mount", "sethostname", "settimeofday", "chroot", "pivot_root",
                             "fsopen", "packet_socket", "raw_socket"}) {
      EXPECT_EQ(o.at(name), EPERM) << name;
    }
    EXPECT_EQ(o["capbset_sys_admin"], 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Profiles, Confinement,
                         ::testing::Values(Profile::kLow, Profile::kMedium, Profile::kHigh),
                         [](const auto& info) { return std::string(to_string(info.param)); });

class HighProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    char a[] = "/tmp/cells-policy-rw-XXXXXX";
    char b[] = "/tmp/cells-policy-ro-XXXXXX";
    ASSERT_NE(mkdtemp(a), nullptr);
    ASSERT_NE(mkdtemp(b), nullptr);
    writable_ = a;
    other_ = b;
  }
  void TearDown() override {
    std::error_code ec;
    if (!writable_.empty()) std::filesystem::remove_all(writable_, ec);
    if (!other_.empty()) std::filesystem::remove_all(other_, ec);
  }
  std::string writable_, other_;
};

TEST_F(HighProfile, FilesystemWritesOnlyBeneathWritablePaths) {
  auto policy =
      prepare_policy(cell_of(Profile::kHigh, {}, {writable_, "/dev/null", "/does/not/exist"}));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(*policy, [&](Report& r) {
    r.check("write_writable", try_open_write(writable_ + "/f"));
    r.check("mkdir_writable", mkdir((writable_ + "/d").c_str(), 0700));
    r.check("write_other", try_open_write(other_ + "/f"));
    r.check("mkdir_other", mkdir((other_ + "/d").c_str(), 0700));
    r.check("read_etc", open("/etc/hostname", O_RDONLY | O_CLOEXEC));
    r.check("write_dev_null", open("/dev/null", O_WRONLY | O_CLOEXEC));
    r.check("write_etc", open("/etc/hostname", O_WRONLY | O_CLOEXEC));
    r.check("rename_out", rename((writable_ + "/f").c_str(), (other_ + "/f").c_str()));
    // CAP_MKNOD is gone even where Landlock would allow creating the node.
    r.check("mknod_writable", mknod((writable_ + "/null").c_str(), S_IFCHR | 0600, makedev(1, 3)));
  });
  ASSERT_EQ(c.enter_err, 0) << to_string(c.step) << ": " << strerror(c.enter_err);
  Outcomes& o = c.outcomes;
  EXPECT_EQ(o["write_writable"], 0);
  EXPECT_EQ(o["mkdir_writable"], 0);
  EXPECT_EQ(o["write_other"], EACCES);
  EXPECT_EQ(o["mkdir_other"], EACCES);
  EXPECT_EQ(o["read_etc"], 0);
  EXPECT_EQ(o["write_dev_null"], 0);
  EXPECT_EQ(o["write_etc"], EACCES);
  EXPECT_EQ(o["rename_out"], EACCES);  // moving a file out needs MAKE_REG at the target
  EXPECT_EQ(o["mknod_writable"], EPERM);
  EXPECT_TRUE(std::filesystem::exists(writable_ + "/f"));
  EXPECT_FALSE(std::filesystem::exists(other_ + "/f"));
}

TEST_F(HighProfile, MediumDoesNotRestrictTheFilesystem) {
  auto policy = prepare_policy(cell_of(Profile::kMedium, {}, {writable_}));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(
      *policy, [&](Report& r) { r.check("write_other", try_open_write(other_ + "/f")); });
  ASSERT_EQ(c.enter_err, 0);
  EXPECT_EQ(c.outcomes["write_other"], 0);
}

TEST_F(HighProfile, BindsOnlyReservedTcpPorts) {
  const uint16_t mine = free_tcp_port();
  uint16_t other = free_tcp_port();
  while (other == mine) other = free_tcp_port();
  auto policy = prepare_policy(cell_of(Profile::kHigh, {mine}));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(*policy, [&](Report& r) {
    r.check("bind_own", try_bind(SOCK_STREAM, mine));
    r.check("bind_other", try_bind(SOCK_STREAM, other));
    r.check("bind_ephemeral", try_bind(SOCK_STREAM, 0));
    // Landlock's net rules cover TCP only; UDP reservations are cgroup-BPF's job.
    r.check("bind_udp_other", try_bind(SOCK_DGRAM, other));
  });
  ASSERT_EQ(c.enter_err, 0) << to_string(c.step) << ": " << strerror(c.enter_err);
  EXPECT_EQ(c.outcomes["bind_own"], 0);
  EXPECT_EQ(c.outcomes["bind_other"], EACCES);
  EXPECT_EQ(c.outcomes["bind_ephemeral"], EACCES);
  EXPECT_EQ(c.outcomes["bind_udp_other"], 0);
}

TEST(Credentials, RunAsNonRootAfterThePolicyHoldsNoCapabilities) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  auto policy = prepare_policy(cell_of(Profile::kMedium));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(*policy, [&](Report& r) {
    r.check("setgroups", setgroups(0, nullptr));
    r.check("setresgid", setresgid(65534, 65534, 65534));
    r.check("setresuid", setresuid(65534, 65534, 65534));
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct d[2] = {};
    syscall(SYS_capget, &h, d);
    r.put("permitted_empty", (d[0].permitted | d[1].permitted) == 0 ? 0 : 1);
    r.check("regain_root", setresuid(0, 0, 0));
  });
  ASSERT_EQ(c.enter_err, 0) << to_string(c.step) << ": " << strerror(c.enter_err);
  EXPECT_EQ(c.outcomes["setgroups"], 0);
  EXPECT_EQ(c.outcomes["setresgid"], 0);
  EXPECT_EQ(c.outcomes["setresuid"], 0);
  EXPECT_EQ(c.outcomes["permitted_empty"], 0);
  EXPECT_EQ(c.outcomes["regain_root"], EPERM);
}

TEST(Credentials, EnteringWithoutCapSetpcapFailsAtTheCapabilityStep) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to become non-root";
  auto policy = prepare_policy(cell_of(Profile::kHigh));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    if (setresuid(65534, 65534, 65534) != 0) _exit(100);
    PolicyStep step = PolicyStep::kNone;
    int err = enter_policy(*policy, &step);
    dprintf(fds[1], "%d %d\n", err, static_cast<int>(step));
    _exit(0);
  }
  close(fds[1]);
  char buf[64] = {};
  ASSERT_GT(read(fds[0], buf, sizeof buf - 1), 0);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  int err = 0, step = 0;
  ASSERT_EQ(sscanf(buf, "%d %d", &err, &step), 2);
  EXPECT_EQ(err, EPERM);  // never a silent downgrade
  EXPECT_EQ(static_cast<PolicyStep>(step), PolicyStep::kCaps);
}

// Each enter_policy() creates its own Landlock domain, even from the same PreparedPolicy: a
// process of one spawn cannot signal a process of another spawn of the same cell (only its
// own descendants). Recorded here so a change in that behaviour is noticed.
TEST(Scoping, SeparateSpawnsAreSeparateSignalDomains) {
  auto policy = prepare_policy(cell_of(Profile::kLow));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  pid_t target = fork();
  if (target == 0) {
    close(ready[0]);
    int err = enter_policy(*policy);
    (void)!write(ready[1], &err, sizeof err);
    pause();
    _exit(0);
  }
  close(ready[1]);
  int target_err = -1;
  ASSERT_EQ(read(ready[0], &target_err, sizeof target_err), static_cast<ssize_t>(sizeof(int)));
  close(ready[0]);
  ASSERT_EQ(target_err, 0);
  Confined c =
      run_confined(*policy, [&](Report& r) { r.check("kill_other_spawn", kill(target, 0)); });
  kill(target, SIGKILL);
  waitpid(target, nullptr, 0);
  ASSERT_EQ(c.enter_err, 0);
  EXPECT_EQ(c.outcomes["kill_other_spawn"], EPERM);
}

TEST(Scoping, AbstractUnixSocketOutsideTheDomainIsUnreachable) {
  std::string name = "cells-policy-test-" + std::to_string(getpid());
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(srv, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path + 1, name.data(), name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
  ASSERT_EQ(bind(srv, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(listen(srv, 1), 0);

  auto policy = prepare_policy(cell_of(Profile::kLow));
  ASSERT_TRUE(policy.ok()) << policy.error().message();
  Confined c = run_confined(*policy, [&](Report& r) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    r.check("connect_abstract", connect(s, reinterpret_cast<sockaddr*>(&addr), len));
  });
  close(srv);
  ASSERT_EQ(c.enter_err, 0);
  EXPECT_EQ(c.outcomes["connect_abstract"], EPERM);
}

}  // namespace
}  // namespace cells::kernel
