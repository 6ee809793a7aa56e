// The enforcement-overhead workload (tools/bench, docs/PERFORMANCE.md): syscall-heavy loops
// timed from inside the process, so the same static binary measures the same work on the host
// and inside a cell, without process start or cell entry in the number.
//
//   cells-bench-workload getpid N            N raw getpid syscalls
//   cells-bench-workload files N DIR         N x (open O_CREAT, write 64 B, close, unlink) in DIR
//   cells-bench-workload tcp N PORT          N 64-byte round trips over loopback TCP to an echo
//                                            thread listening on 127.0.0.1:PORT
// Prints one line: "<mode> <wall ns per operation> <CPU ns per operation>". CPU time is that of
// the whole process (both threads for tcp): on a shared machine, time spent waiting for a core
// lands in the wall figure but not in the CPU one. Exits 2 on bad arguments, 1 on a failed call.
//
// Linked statically so it runs inside any cell root (the cell does not see the host's libc).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <ctime>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "cells-bench-workload: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "cells-bench-workload: %s\nusage: cells-bench-workload getpid N | files N DIR | "
               "tcp N PORT\n",
               why);
  std::exit(2);
}

long parse_count(const char* s, const char* what) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v <= 0) {
    usage((std::string(what) + " must be a positive integer, got '" + s + "'").c_str());
  }
  return v;
}

double ns_per_op(Clock::time_point t0, long n) {
  return std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
}

double cpu_ns() {
  timespec ts{};
  if (::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) fail("clock_gettime");
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

double run_getpid(long n) {
  auto t0 = Clock::now();
  // The raw syscall: glibc does not cache getpid any more, but syscall() makes that explicit.
  for (long i = 0; i < n; ++i) (void)::syscall(SYS_getpid);
  return ns_per_op(t0, n);
}

double run_files(long n, const std::string& dir) {
  std::string path = dir + "/cells-bench-workload." + std::to_string(::getpid());
  char buf[64];
  std::memset(buf, 'x', sizeof buf);
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail(("open " + path).c_str());
    if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) fail("write");
    ::close(fd);
    if (::unlink(path.c_str()) != 0) fail("unlink");
  }
  return ns_per_op(t0, n);
}

bool full_io(int fd, char* buf, size_t len, bool reading) {
  size_t done = 0;
  while (done < len) {
    ssize_t r = reading ? ::read(fd, buf + done, len - done) : ::write(fd, buf + done, len - done);
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

double run_tcp(long n, int port) {
  int srv = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (srv < 0) fail("socket");
  int one = 1;
  ::setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("bind");
  if (::listen(srv, 1) != 0) fail("listen");
  std::thread echo([srv] {
    int c = ::accept4(srv, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) fail("accept");
    char buf[64];
    while (full_io(c, buf, sizeof buf, true) && full_io(c, buf, sizeof buf, false)) {
    }
    ::close(c);
  });
  int cli = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cli < 0) fail("socket");
  ::setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(cli, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fail("connect");
  char buf[64];
  std::memset(buf, 'e', sizeof buf);
  auto t0 = Clock::now();
  for (long i = 0; i < n; ++i) {
    if (!full_io(cli, buf, sizeof buf, false) || !full_io(cli, buf, sizeof buf, true)) {
      fail("echo round trip");
    }
  }
  double ns = ns_per_op(t0, n);
  ::close(cli);  // the echo thread sees EOF and ends
  echo.join();
  ::close(srv);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) usage("missing arguments");
  std::string mode = argv[1];
  long n = parse_count(argv[2], "N");
  double ns = 0;
  const double cpu0 = cpu_ns();
  if (mode == "getpid" && argc == 3) {
    ns = run_getpid(n);
  } else if (mode == "files" && argc == 4) {
    ns = run_files(n, argv[3]);
  } else if (mode == "tcp" && argc == 4) {
    long port = parse_count(argv[3], "PORT");
    if (port > 65535) usage("PORT must be at most 65535");
    ns = run_tcp(n, static_cast<int>(port));
  } else {
    usage(("unknown mode or wrong argument count: '" + mode + "'").c_str());
  }
  // The set-up (thread, sockets) is in the CPU figure too; at the default counts it is well
  // under 1% of it.
  std::printf("%s %.1f %.1f\n", mode.c_str(), ns, (cpu_ns() - cpu0) / static_cast<double>(n));
  return 0;
}
