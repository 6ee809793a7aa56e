// cells_escape_probe: runs inside a cell and tries each thing the cell policy forbids, plus a
// few things it must still allow. Prints one line per check, "<name> <errno>", 0 = it worked.
// The escape suite (escape_test.cc) asserts these lines against the DESIGN matrix.
//
// Arguments are key=value: host_pid, sibling_pid (host pids, invisible from a cell), own_port,
// other_port (another cell's reserved port), writable (a dir the cell may write), marker (a
// host path outside the cell's root that must stay unreachable), abstract (the name of an
// abstract unix socket the host listens on). "sleep=N" instead sleeps N seconds (for the
// suite to inspect the process from the host).
//
// Where a bad pointer is passed on purpose, an allowed call fails with EFAULT (or EINVAL)
// without changing anything, while a blocked one fails with EPERM before the kernel reads it.
// Statically linked, so it needs nothing from the cell's root.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

struct Args {
  long host_pid = 0;
  long sibling_pid = 0;
  int own_port = 0;
  int other_port = 0;
  std::string writable = "/tmp";
  std::string marker;
  std::string abstract;
  int sleep_s = -1;
};

char* const kBad = reinterpret_cast<char*>(1);

void report(const char* name, long rc) {
  std::printf("%s %d\n", name, rc < 0 ? errno : 0);
}
void report_errno(const char* name, int err) {
  std::printf("%s %d\n", name, err);
}

long open_close(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd >= 0) close(fd);
  return fd;
}

long try_bind(int family, int type, int port) {
  int s = socket(family, type | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  long rc;
  if (family == AF_INET) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    rc = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    rc = bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  int err = errno;
  close(s);
  errno = err;
  return rc;
}

long try_socket(int domain, int type, int proto) {
  int s = socket(domain, type | SOCK_CLOEXEC, proto);
  if (s >= 0) close(s);
  return s;
}

void process_checks(const Args& a) {
  const std::string host = std::to_string(a.host_pid);
  const std::string sibling = std::to_string(a.sibling_pid);
  struct stat st;
  report("kill_host", kill(a.host_pid, 0));
  report("kill_sibling", kill(a.sibling_pid, 0));
  report("ptrace_host", ptrace(PTRACE_ATTACH, a.host_pid, nullptr, nullptr));
  report("ptrace_sibling", ptrace(PTRACE_ATTACH, a.sibling_pid, nullptr, nullptr));
  report("proc_host", stat(("/proc/" + host).c_str(), &st));
  report("proc_sibling", stat(("/proc/" + sibling).c_str(), &st));
  report("pidfd_host", syscall(SYS_pidfd_open, a.host_pid, 0));

  // Before any namespace check: abstract names are per network namespace.
  if (!a.abstract.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path + 1, a.abstract.data(), a.abstract.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + a.abstract.size();
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report("connect_abstract_host", connect(s, reinterpret_cast<sockaddr*>(&addr), len));
    close(s);
  }
  // Allowed: signalling its own processes.
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  report("kill_own_child", child < 0 ? -1 : kill(child, SIGKILL));
  if (child > 0) waitpid(child, nullptr, 0);
  report_errno("uid", static_cast<int>(getuid()));  // the uid itself, not an errno
}

void port_checks(const Args& a) {
  report("bind_tcp4_other", try_bind(AF_INET, SOCK_STREAM, a.other_port));
  report("bind_udp4_other", try_bind(AF_INET, SOCK_DGRAM, a.other_port));
  report("bind_tcp6_other", try_bind(AF_INET6, SOCK_STREAM, a.other_port));
  report("bind_udp6_other", try_bind(AF_INET6, SOCK_DGRAM, a.other_port));
  report("bind_tcp4_own", try_bind(AF_INET, SOCK_STREAM, a.own_port));
  report("bind_udp4_own", try_bind(AF_INET, SOCK_DGRAM, a.own_port));
  report("bind_tcp6_own", try_bind(AF_INET6, SOCK_STREAM, a.own_port));
  report("bind_udp6_own", try_bind(AF_INET6, SOCK_DGRAM, a.own_port));
}

void system_checks(const Args& a) {
  report("mount", mount(kBad, kBad, kBad, 0, nullptr));
  report("umount", umount2(kBad, 0));
  report("pivot_root", syscall(SYS_pivot_root, kBad, kBad));
  report("chroot", chroot(kBad));
  // A real name: in medium/high it must be refused; in low it may only change the cell's own
  // UTS namespace, and the suite checks the host's hostname afterwards.
  report("sethostname", sethostname("cells-escaped", 13));
  report("settimeofday", syscall(SYS_settimeofday, kBad, nullptr));
  report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, kBad));
  report("swapon", syscall(SYS_swapon, kBad, 0));

  // Sysctl write: write the current value back, so an unexpected success changes nothing.
  {
    const char* path = "/proc/sys/vm/swappiness";
    char buf[32] = {};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    int err = 0;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
    } else if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
      err = errno;
    } else {
      if (write(fd, buf, n) < 0) err = errno;
      close(fd);
    }
    report_errno("sysctl_write", err);
  }

  const std::string node = a.writable + "/probe-node";
  long rc = mknod(node.c_str(), S_IFCHR | 0600, makedev(1, 3));
  report("mknod_char", rc);
  if (rc == 0) unlink(node.c_str());
  rc = mknod(node.c_str(), S_IFBLK | 0600, makedev(254, 0));
  report("mknod_block", rc);
  if (rc == 0) unlink(node.c_str());

  report("raw_socket4", try_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
  report("raw_socket6", try_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6));
  report("packet_socket", try_socket(AF_PACKET, SOCK_RAW, 0));

  report("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, kBad, 64));
  report("init_module", syscall(SYS_init_module, kBad, 64, kBad));
  report("finit_module", syscall(SYS_finit_module, -1, kBad, 0));
  report("kexec_load", syscall(SYS_kexec_load, 0, 1, kBad, 0));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, nullptr));  // wrong magic: allowed = EINVAL
  report("syslog", syscall(SYS_syslog, 10 /* SIZE_BUFFER */, nullptr, 0));
  report("unshare_mnt", unshare(CLONE_NEWNS));
  report("unshare_user", unshare(CLONE_NEWUSER));
  report("unshare_net", unshare(CLONE_NEWNET));
  {
    int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    report("setns", fd < 0 ? -1 : setns(fd, CLONE_NEWNET));  // own netns: harmless if allowed
    if (fd >= 0) close(fd);
  }
  {
    long pid = syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, nullptr, 0);
    report("clone_newns", pid);
  }
  report("clone3", syscall(SYS_clone3, nullptr, 0));
}

void filesystem_checks(const Args& a) {
  report("read_shadow", open_close("/etc/shadow", O_RDONLY));
  report("read_root_home", open_close("/root", O_RDONLY | O_DIRECTORY));
  if (!a.marker.empty()) {
    report("marker_direct", open_close(a.marker, O_RDONLY));
    report("marker_proc1_root", open_close("/proc/1/root" + a.marker, O_RDONLY));
    report("marker_host_root",
           open_close("/proc/" + std::to_string(a.host_pid) + "/root" + a.marker, O_RDONLY));
    report("marker_dotdot", open_close("/../../../.." + a.marker, O_RDONLY));
    // A symlink resolves in the cell's root, wherever it points.
    const std::string link = a.writable + "/probe-link";
    unlink(link.c_str());
    if (symlink(a.marker.c_str(), link.c_str()) == 0) {
      report("marker_symlink", open_close(link, O_RDONLY));
      unlink(link.c_str());
    } else {
      report("marker_symlink_create", -1);
    }
  }
  // open_by_handle_at: the "shocker" escape opens host inodes by handle, bypassing the root.
  {
    struct {
      file_handle h;
      unsigned char bytes[MAX_HANDLE_SZ];
    } fh{};
    fh.h.handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    name_to_handle_at(AT_FDCWD, "/", &fh.h, &mount_id, 0);
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    long fd = syscall(SYS_open_by_handle_at, root, &fh.h, O_RDONLY);
    if (fd >= 0) close(fd);
    report("open_by_handle_at", fd);
    close(root);
  }
  // cgroup release_agent: needs a cgroup v1 mount (the data pointer is bad, so an allowed
  // mount fails with EFAULT before anything is mounted) and a visible cgroupfs.
  report("cgroup_mount", mount("cgroup", a.writable.c_str(), "cgroup", 0, kBad));
  report("cgroup_release_agent", open_close("/sys/fs/cgroup/release_agent", O_WRONLY));

  // Allowed: writing its writable paths.
  const std::string file = a.writable + "/probe-file";
  report("write_writable", open_close(file, O_WRONLY | O_CREAT | O_TRUNC));
  unlink(file.c_str());
  long rc = open_close("/probe-outside", O_WRONLY | O_CREAT | O_TRUNC);
  report("write_outside", rc);
  if (rc >= 0) unlink("/probe-outside");
}

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (eq == std::string::npos) return false;
    std::string k = arg.substr(0, eq), v = arg.substr(eq + 1);
    if (k == "host_pid")
      a->host_pid = std::atol(v.c_str());
    else if (k == "sibling_pid")
      a->sibling_pid = std::atol(v.c_str());
    else if (k == "own_port")
      a->own_port = std::atoi(v.c_str());
    else if (k == "other_port")
      a->other_port = std::atoi(v.c_str());
    else if (k == "writable")
      a->writable = v;
    else if (k == "marker")
      a->marker = v;
    else if (k == "abstract")
      a->abstract = v;
    else if (k == "sleep")
      a->sleep_s = std::atoi(v.c_str());
    else
      return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr, "cells_escape_probe: bad argument (expected key=value)\n");
    return 2;
  }
  if (a.sleep_s >= 0) {
    std::printf("ready %d\n", 0);
    std::fflush(stdout);
    sleep(a.sleep_s);
    return 0;
  }
  setvbuf(stdout, nullptr, _IOLBF, 0);
  process_checks(a);
  port_checks(a);
  system_checks(a);
  filesystem_checks(a);
  std::printf("done 0\n");
  return 0;
}
