// Privileged tests of BpfPolicy: the programs are really attached to the cgroup2 root, and
// every verdict is observed from a forked process placed in a scratch cell cgroup (a plain
// directory under the instance's cgroup parent; no namespaces are needed for this policy).
// Each test uses its own scratch --root, so its instance name, cgroup parent and pin directory
// are its own, and removes all of them again.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "kernel/bpf_policy.h"

namespace cells::kernel {
namespace {

constexpr uid_t kNobody = 65534;

// A scratch installation: a mkdtemp root, its instance cgroup parent, and the cell cgroups
// made in it. Everything is removed in the destructor, pins included.
class Scratch {
 public:
  Scratch() {
    char tmpl[] = "/tmp/cells-bpf-test-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    EXPECT_NE(dir, nullptr) << std::strerror(errno);
    root_ = dir ? dir : "";
    paths_ = *Paths::from_root(root_);
    EXPECT_EQ(mkdir(paths_.cgroup_parent().c_str(), 0755), 0)
        << paths_.cgroup_parent() << ": " << std::strerror(errno);
  }
  ~Scratch() {
    Status s = BpfPolicy::unload(paths_);
    EXPECT_TRUE(s.ok()) << s.error().message();
    for (auto it = cgroups_.rbegin(); it != cgroups_.rend(); ++it) remove_cgroup(*it);
    remove_cgroup(paths_.cgroup_parent());
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const Paths& paths() const { return paths_; }
  std::string file(const std::string& name) const { return root_ + "/" + name; }

  // Makes the cgroup <parent>/<rel> and returns its path; its cgroup id is its inode.
  std::string make_cgroup(const std::string& rel) {
    std::string path = paths_.cgroup_parent() + "/" + rel;
    EXPECT_EQ(mkdir(path.c_str(), 0755), 0) << path << ": " << std::strerror(errno);
    cgroups_.push_back(path);
    return path;
  }

  BpfPolicy load() {
    auto policy = BpfPolicy::ensure_loaded(paths_);
    EXPECT_TRUE(policy.ok()) << policy.error().message();
    return std::move(policy).value();
  }

 private:
  static void remove_cgroup(const std::string& path) {
    // A just-reaped child can keep the cgroup busy for a moment.
    for (int i = 0; i < 100; ++i) {
      if (rmdir(path.c_str()) == 0 || errno == ENOENT) return;
      if (errno != EBUSY) break;
      usleep(10000);
    }
    ADD_FAILURE() << "rmdir " << path << ": " << std::strerror(errno);
  }

  std::string root_;
  Paths paths_;
  std::vector<std::string> cgroups_;
};

uint64_t cgroup_id(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

// Runs FN in a forked child that first moves itself into CGROUP (empty: stays in the test's
// own, non-cell cgroup) and, if UID is not 0, drops to UID. Returns the errno FN reports, 0 for
// success; values >= 200 mean the child could not set itself up.
int run_in(const std::string& cgroup, const std::function<int()>& fn, uid_t uid = 0) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!cgroup.empty()) {
      int fd = open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, "0", 1) != 1) _exit(201);
      close(fd);
    }
    if (uid != 0 && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(202);
    _exit(fn());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "status " << status;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

int errno_of(bool ok) { return ok ? 0 : errno; }

// bind() on loopback (IPv4) or the IPv6 wildcard (v6-only, so it never collides with IPv4).
int bind_port(int family, int type, uint16_t port) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return 210;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_any;
    rc = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  int err = errno_of(rc == 0);
  close(fd);
  return err;
}

std::function<int()> binds(int family, int type, uint16_t port) {
  return [=] { return bind_port(family, type, port); };
}

std::function<int()> opens(const std::string& path, int flags) {
  return [=] {
    int fd = open(path.c_str(), flags | O_CLOEXEC);
    int err = errno_of(fd >= 0);
    if (fd >= 0) close(fd);
    return err;
  };
}

std::function<int()> mknods(const std::string& path, mode_t type, dev_t dev) {
  return [=] {
    int err = errno_of(mknod(path.c_str(), type | 0600, dev) == 0);
    unlink(path.c_str());
    return err;
  };
}

std::function<int()> raw_socket(int family) {
  return [=] {
    const int protocol = family == AF_INET ? int{IPPROTO_ICMP} : int{IPPROTO_ICMPV6};
    int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, protocol);
    int err = errno_of(fd >= 0);
    if (fd >= 0) close(fd);
    return err;
  };
}

// Writes the current hostname back unchanged, so that even a wrongly allowed write changes
// nothing on the host.
int rewrite_hostname() {
  const char* path = "/proc/sys/kernel/hostname";
  char name[128] = {};
  int rfd = open(path, O_RDONLY | O_CLOEXEC);
  if (rfd < 0) return 220;
  ssize_t n = read(rfd, name, sizeof name - 1);
  close(rfd);
  if (n <= 0) return 221;
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = errno_of(write(fd, name, n) == n);
  close(fd);
  return err;
}

// Ports unlikely to be used by anything else on the host, distinct per test process.
uint16_t base_port() { return static_cast<uint16_t>(30000 + (getpid() % 2000) * 10); }

DenialCounts counts(const BpfPolicy& policy, uint32_t cid) {
  auto c = policy.denials(cid);
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? *c : DenialCounts{};
}

uint64_t count_of(const BpfPolicy& policy, uint32_t cid, DenialKind kind) {
  return counts(policy, cid).by_kind[static_cast<int>(kind)];
}

class BpfPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (cgroup-BPF, bpffs, cgroups)";
  }
};

TEST_F(BpfPolicyTest, ReservedPortBindsOnlyFromOwnerCellOverTcpUdpV4V6) {
  Scratch s;
  const uint16_t pa = base_port(), pb = pa + 1, free_port = pa + 2;
  std::string a = s.make_cgroup("a"), b = s.make_cgroup("b"), a_sub = s.make_cgroup("a/sub");
  BpfPolicy policy = s.load();
  const uint16_t a_ports[] = {pa};
  const uint16_t b_ports[] = {pb};
  ASSERT_TRUE(policy.register_cell(cgroup_id(a), 1, Profile::kLow, a_ports).ok());
  ASSERT_TRUE(policy.register_cell(cgroup_id(b), 2, Profile::kLow, b_ports).ok());
  EXPECT_EQ(*policy.port_owner(pa), 1u);
  EXPECT_EQ(*policy.port_owner(pb), 2u);
  EXPECT_EQ(*policy.port_owner(free_port), 0u);

  for (int family : {AF_INET, AF_INET6}) {
    for (int type : {SOCK_STREAM, SOCK_DGRAM}) {
      SCOPED_TRACE("family " + std::to_string(family) + " type " + std::to_string(type));
      EXPECT_EQ(run_in(a, binds(family, type, pa)), 0);
      EXPECT_EQ(run_in(b, binds(family, type, pa)), EPERM);
      EXPECT_EQ(run_in(b, binds(family, type, pb)), 0);
      EXPECT_EQ(run_in(b, binds(family, type, free_port)), 0);
    }
  }
  EXPECT_EQ(count_of(policy, 2, DenialKind::kBind), 4u);
  EXPECT_EQ(count_of(policy, 1, DenialKind::kBind), 0u);

  // A sub-cgroup of a cell is the cell.
  EXPECT_EQ(run_in(a_sub, binds(AF_INET, SOCK_STREAM, pa)), 0);
  EXPECT_EQ(run_in(a_sub, binds(AF_INET, SOCK_DGRAM, pb)), EPERM);
  EXPECT_EQ(count_of(policy, 1, DenialKind::kBind), 1u);

  // Host: non-root may not bind a reserved port, root may; port 0 is never restricted.
  const uint64_t host_before = count_of(policy, 0, DenialKind::kBind);
  EXPECT_EQ(run_in("", binds(AF_INET, SOCK_STREAM, pa), kNobody), EPERM);
  EXPECT_EQ(run_in("", binds(AF_INET6, SOCK_DGRAM, pa), kNobody), EPERM);
  EXPECT_EQ(run_in("", binds(AF_INET, SOCK_STREAM, free_port), kNobody), 0);
  EXPECT_EQ(run_in("", binds(AF_INET, SOCK_STREAM, pa)), 0);
  EXPECT_EQ(run_in(b, binds(AF_INET, SOCK_STREAM, 0)), 0);
  EXPECT_EQ(count_of(policy, 0, DenialKind::kBind), host_before + 2);
  EXPECT_EQ(count_of(policy, 2, DenialKind::kBind), 4u);
}

// A block device that exists on this machine (the root disk, say), as "major:minor".
dev_t some_block_device() {
  for (const auto& e : std::filesystem::directory_iterator("/sys/dev/block")) {
    unsigned major = 0, minor = 0;
    if (sscanf(e.path().filename().c_str(), "%u:%u", &major, &minor) == 2) {
      return makedev(major, minor);
    }
  }
  return 0;
}

TEST_F(BpfPolicyTest, MediumCellCannotWriteSysctlsUseDevicesOrRawSockets) {
  Scratch s;
  std::string medium = s.make_cgroup("medium"), low = s.make_cgroup("low"),
              high = s.make_cgroup("high");
  BpfPolicy policy = s.load();
  ASSERT_TRUE(policy.register_cell(cgroup_id(medium), 7, Profile::kMedium, {}).ok());
  ASSERT_TRUE(policy.register_cell(cgroup_id(low), 8, Profile::kLow, {}).ok());
  ASSERT_TRUE(policy.register_cell(cgroup_id(high), 9, Profile::kHigh, {}).ok());

  // sysctl: writes refused, reads allowed; low cells keep root's right to write.
  EXPECT_EQ(run_in(medium, rewrite_hostname), EPERM);
  EXPECT_EQ(run_in(high, rewrite_hostname), EPERM);
  EXPECT_EQ(run_in(medium, opens("/proc/sys/kernel/hostname", O_RDONLY)), 0);
  EXPECT_EQ(run_in(low, rewrite_hostname), 0);

  // Devices: a block node made outside the cell cannot be opened inside it, nor can one be
  // made; the allow-list (null here) still works.
  dev_t blk = some_block_device();
  ASSERT_NE(blk, 0u) << "no block device in /sys/dev/block";
  std::string node = s.file("blk");
  ASSERT_EQ(mknod(node.c_str(), S_IFBLK | 0600, blk), 0) << std::strerror(errno);
  EXPECT_EQ(run_in(medium, opens(node, O_RDONLY)), EPERM);
  EXPECT_EQ(run_in(low, opens(node, O_RDONLY)), 0);
  EXPECT_EQ(run_in(medium, mknods(s.file("blk2"), S_IFBLK, blk)), EPERM);
  EXPECT_EQ(run_in(medium, mknods(s.file("mem"), S_IFCHR, makedev(1, 1))), EPERM);
  EXPECT_EQ(run_in(medium, mknods(s.file("null"), S_IFCHR, makedev(1, 3))), 0);
  EXPECT_EQ(run_in(medium, opens("/dev/null", O_RDWR)), 0);
  EXPECT_EQ(run_in(medium, opens("/dev/urandom", O_RDONLY)), 0);
  EXPECT_EQ(run_in(high, opens(node, O_RDONLY)), EPERM);

  // Raw inet sockets: refused for medium and high, allowed for low (root has CAP_NET_RAW).
  EXPECT_EQ(run_in(medium, raw_socket(AF_INET)), EPERM);
  EXPECT_EQ(run_in(medium, raw_socket(AF_INET6)), EPERM);
  EXPECT_EQ(run_in(high, raw_socket(AF_INET)), EPERM);
  EXPECT_EQ(run_in(low, raw_socket(AF_INET)), 0);
  EXPECT_EQ(run_in(medium, binds(AF_INET, SOCK_DGRAM, 0)), 0);  // ordinary sockets are fine

  DenialCounts m = counts(policy, 7);
  EXPECT_EQ(m.by_kind[static_cast<int>(DenialKind::kSysctl)], 1u);
  EXPECT_EQ(m.by_kind[static_cast<int>(DenialKind::kDevice)], 3u);
  EXPECT_EQ(m.by_kind[static_cast<int>(DenialKind::kSocket)], 2u);
  EXPECT_EQ(m.by_kind[static_cast<int>(DenialKind::kBind)], 0u);
  DenialCounts l = counts(policy, 8);
  for (uint64_t c : l.by_kind) EXPECT_EQ(c, 0u);
  DenialCounts h = counts(policy, 9);
  EXPECT_EQ(h.by_kind[static_cast<int>(DenialKind::kSysctl)], 1u);
  EXPECT_EQ(h.by_kind[static_cast<int>(DenialKind::kDevice)], 1u);
  EXPECT_EQ(h.by_kind[static_cast<int>(DenialKind::kSocket)], 1u);
}

TEST_F(BpfPolicyTest, PinsOutliveTheLoaderAreReusedAndUnloadStopsEnforcement) {
  Scratch s;
  const uint16_t pa = base_port() + 3;
  std::string a = s.make_cgroup("a"), b = s.make_cgroup("b");
  const uint64_t a_id = cgroup_id(a), b_id = cgroup_id(b);

  // The loader is a separate process that exits once the cells are registered.
  EXPECT_EQ(run_in("", [&] {
              auto policy = BpfPolicy::ensure_loaded(s.paths());
              if (!policy) return 230;
              const uint16_t ports[] = {pa};
              if (!policy->register_cell(a_id, 1, Profile::kLow, ports).ok()) return 231;
              return policy->register_cell(b_id, 2, Profile::kLow, {}).ok() ? 0 : 232;
            }),
            0);
  EXPECT_EQ(run_in(b, binds(AF_INET, SOCK_STREAM, pa)), EPERM);
  EXPECT_EQ(run_in(a, binds(AF_INET, SOCK_STREAM, pa)), 0);

  // A second ensure_loaded reuses the pinned maps: the registration is still there.
  {
    BpfPolicy policy = s.load();
    EXPECT_EQ(*policy.port_owner(pa), 1u);
    EXPECT_EQ(count_of(policy, 2, DenialKind::kBind), 1u);
  }

  ASSERT_TRUE(BpfPolicy::unload(s.paths()).ok());
  struct stat st {};
  EXPECT_NE(stat(s.paths().bpf_pin_dir().c_str(), &st), 0) << "pin dir left behind";
  EXPECT_EQ(run_in(b, binds(AF_INET, SOCK_STREAM, pa)), 0);
  EXPECT_EQ(run_in("", binds(AF_INET, SOCK_STREAM, pa), kNobody), 0);
  EXPECT_TRUE(BpfPolicy::unload(s.paths()).ok()) << "unload is idempotent";

  // After the pins are gone (as after a reboot) ensure_loaded starts from empty maps.
  BpfPolicy fresh = s.load();
  EXPECT_EQ(*fresh.port_owner(pa), 0u);
}

TEST_F(BpfPolicyTest, TwoInstancesCoexistWithoutInterfering) {
  Scratch one, two;
  const uint16_t p1 = base_port() + 4, p2 = base_port() + 5;
  std::string a1 = one.make_cgroup("a"), b1 = one.make_cgroup("b");
  std::string m2 = two.make_cgroup("m"), c2 = two.make_cgroup("c");
  BpfPolicy pol1 = one.load();
  BpfPolicy pol2 = two.load();
  ASSERT_NE(one.paths().bpf_pin_dir(), two.paths().bpf_pin_dir());
  // The same cid in both instances: each instance's maps are its own.
  const uint16_t ports1[] = {p1};
  const uint16_t ports2[] = {p2};
  ASSERT_TRUE(pol1.register_cell(cgroup_id(a1), 1, Profile::kLow, ports1).ok());
  ASSERT_TRUE(pol1.register_cell(cgroup_id(b1), 2, Profile::kLow, {}).ok());
  ASSERT_TRUE(pol2.register_cell(cgroup_id(m2), 1, Profile::kMedium, ports2).ok());
  ASSERT_TRUE(pol2.register_cell(cgroup_id(c2), 2, Profile::kLow, {}).ok());
  EXPECT_EQ(*pol1.port_owner(p2), 0u);
  EXPECT_EQ(*pol2.port_owner(p1), 0u);

  EXPECT_EQ(run_in(b1, binds(AF_INET, SOCK_STREAM, p1)), EPERM);
  EXPECT_EQ(run_in(c2, binds(AF_INET, SOCK_STREAM, p2)), EPERM);
  EXPECT_EQ(run_in(m2, binds(AF_INET, SOCK_STREAM, p2)), 0);
  EXPECT_EQ(run_in(m2, raw_socket(AF_INET)), EPERM);
  EXPECT_EQ(run_in(a1, raw_socket(AF_INET)), 0);  // instance two's medium rule is not one's
  EXPECT_EQ(count_of(pol2, 1, DenialKind::kSocket), 1u);
  EXPECT_EQ(count_of(pol1, 1, DenialKind::kSocket), 0u);

  ASSERT_TRUE(BpfPolicy::unload(one.paths()).ok());
  EXPECT_EQ(run_in(b1, binds(AF_INET, SOCK_STREAM, p1)), 0);
  EXPECT_EQ(run_in(c2, binds(AF_INET, SOCK_STREAM, p2)), EPERM);
  EXPECT_EQ(run_in(m2, raw_socket(AF_INET)), EPERM);
}

TEST_F(BpfPolicyTest, ConflictingOrBadRegistrationChangesNothing) {
  Scratch s;
  const uint16_t pa = base_port() + 6, px = pa + 1, py = pa + 2;
  std::string a = s.make_cgroup("a"), b = s.make_cgroup("b");
  BpfPolicy policy = s.load();
  const uint16_t a_ports[] = {pa, px};
  ASSERT_TRUE(policy.register_cell(cgroup_id(a), 1, Profile::kLow, a_ports).ok());

  const uint16_t b_ports[] = {py, pa};
  Status conflict = policy.register_cell(cgroup_id(b), 2, Profile::kMedium, b_ports);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind(), ErrorKind::kExists);
  EXPECT_EQ(conflict.error().message(),
            "register cell 2: port " + std::to_string(pa) + " is reserved by cell 1");
  EXPECT_EQ(*policy.port_owner(py), 0u) << "port taken before the conflict was not given back";
  EXPECT_EQ(*policy.port_owner(pa), 1u);
  // B was not recorded as a medium cell: raw sockets still work there.
  EXPECT_EQ(run_in(b, raw_socket(AF_INET)), 0);

  struct Bad {
    uint64_t cgroup;
    uint32_t cid;
    std::vector<uint16_t> ports;
    std::string message;
  };
  std::vector<uint16_t> too_many;
  for (uint16_t i = 0; i < 33; ++i) too_many.push_back(py + i);
  const std::vector<Bad> bad = {
      {cgroup_id(b), 2, {py, 0}, "register cell 2: port 0 cannot be reserved"},
      {cgroup_id(b), 2, {py, py}, "register cell 2: port " + std::to_string(py) +
                                      " is listed twice"},
      {cgroup_id(b), 0, {py}, "register cell 0: cid 0 is reserved for host processes"},
      {0, 2, {py}, "register cell 2: cgroup id 0 does not name a cgroup"},
      {cgroup_id(b), 2, too_many,
       "register cell 2: 33 reserved ports exceed the limit of 32"},
  };
  for (const Bad& c : bad) {
    Status st = policy.register_cell(c.cgroup, c.cid, Profile::kMedium, c.ports);
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalid);
    EXPECT_EQ(st.error().message(), c.message);
    EXPECT_EQ(*policy.port_owner(py), 0u);
  }
  Status again = policy.register_cell(cgroup_id(a), 3, Profile::kLow, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind(), ErrorKind::kExists);
  EXPECT_EQ(run_in(b, raw_socket(AF_INET)), 0);

  // With the conflict gone, B registers; unregistering releases its ports and profile.
  const uint16_t b_ok[] = {py};
  ASSERT_TRUE(policy.register_cell(cgroup_id(b), 2, Profile::kMedium, b_ok).ok());
  EXPECT_EQ(run_in(b, raw_socket(AF_INET)), EPERM);
  EXPECT_EQ(count_of(policy, 2, DenialKind::kSocket), 1u);
  Status wrong = policy.unregister_cell(cgroup_id(b), 1);
  EXPECT_FALSE(wrong.ok());
  EXPECT_EQ(*policy.port_owner(py), 2u) << "a refused unregister changed something";
  ASSERT_TRUE(policy.unregister_cell(cgroup_id(b), 2).ok());
  EXPECT_EQ(*policy.port_owner(py), 0u);
  EXPECT_EQ(*policy.port_owner(pa), 1u);
  EXPECT_EQ(run_in(b, raw_socket(AF_INET)), 0);
  EXPECT_EQ(count_of(policy, 2, DenialKind::kSocket), 0u);
  EXPECT_TRUE(policy.unregister_cell(cgroup_id(b), 2).ok()) << "unknown cells are not an error";
}

TEST_F(BpfPolicyTest, RacingRegistrationsForOnePortExactlyOneWins) {
  Scratch s;
  std::string a = s.make_cgroup("a"), b = s.make_cgroup("b");
  const uint64_t ids[2] = {cgroup_id(a), cgroup_id(b)};
  BpfPolicy policy = s.load();
  for (int round = 0; round < 5; ++round) {
    const uint16_t port = base_port() + 7;
    int go[2];
    ASSERT_EQ(pipe(go), 0);
    pid_t pids[2];
    for (int i = 0; i < 2; ++i) {
      pids[i] = fork();
      if (pids[i] == 0) {
        close(go[1]);
        auto mine = BpfPolicy::ensure_loaded(s.paths());
        if (!mine) _exit(230);
        char c;
        if (read(go[0], &c, 1) != 0) _exit(231);  // EOF = start
        const uint16_t ports[] = {port};
        Status st = mine->register_cell(ids[i], static_cast<uint32_t>(i + 1), Profile::kLow,
                                        ports);
        _exit(st.ok() ? 0 : st.error().kind() == ErrorKind::kExists ? 17 : 232);
      }
    }
    close(go[0]);
    close(go[1]);
    int codes[2];
    for (int i = 0; i < 2; ++i) {
      int status = 0;
      ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
      ASSERT_TRUE(WIFEXITED(status));
      codes[i] = WEXITSTATUS(status);
    }
    EXPECT_TRUE((codes[0] == 0 && codes[1] == 17) || (codes[0] == 17 && codes[1] == 0))
        << "round " << round << ": " << codes[0] << " " << codes[1];
    const uint32_t winner = codes[0] == 0 ? 1 : 2;
    EXPECT_EQ(*policy.port_owner(port), winner);
    ASSERT_TRUE(policy.unregister_cell(ids[winner - 1], winner).ok());
  }
}

}  // namespace
}  // namespace cells::kernel
