// bind() cost with the cells cgroup-BPF programs attached versus detached, in one run.
//
// The process moves itself into a registered low-profile cell cgroup of a scratch instance and
// times socket()+bind()+close() on loopback, for a port the cell owns (ports hit plus cell
// lookup) and an unreserved one (ports miss only). Rounds alternate between "attached" and
// "detached" (BpfPolicy::unload) so drift hits both sides alike. Usage (as root):
//   bpf_bind_bench [rounds=15] [ops_per_round=20000]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "base/files.h"
#include "kernel/bpf_policy.h"

namespace {

using cells::kernel::BpfPolicy;

bool move_self(const std::string& cgroup) {
  int fd = open((cgroup + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, "0", 1) == 1;
  close(fd);
  return ok;
}

// Nanoseconds per socket()+bind()+close() over OPS iterations.
double time_binds(uint16_t port, int ops) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < ops; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      std::fprintf(stderr, "bind %u: %s\n", port, std::strerror(errno));
      std::exit(1);
    }
    close(fd);
  }
  std::chrono::duration<double, std::nano> d = std::chrono::steady_clock::now() - start;
  return d.count() / ops;
}

struct Stats {
  double median, p10, p90;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  const int ops = argc > 2 ? std::atoi(argv[2]) : 20000;
  if (geteuid() != 0) {
    std::fprintf(stderr, "bpf_bind_bench: needs root (cgroup-BPF, bpffs, cgroups)\n");
    return 1;
  }
  char tmpl[] = "/tmp/cells-bpf-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  auto paths = *cells::Paths::from_root(tmpl);
  const std::string cell = paths.cgroup_parent() + "/bench";
  std::string home = "/sys/fs/cgroup/unified";
  if (auto self = cells::read_file("/proc/self/cgroup"); self.ok()) {
    size_t pos = self->find("0::");
    if (pos != std::string::npos) {
      home += self->substr(pos + 3, self->find('\n', pos) - pos - 3);
    }
  }
  if (mkdir(paths.cgroup_parent().c_str(), 0755) != 0 || mkdir(cell.c_str(), 0755) != 0) {
    std::perror("mkdir cgroup");
    return 1;
  }
  struct stat st {};
  stat(cell.c_str(), &st);
  const uint16_t owned = static_cast<uint16_t>(41000 + getpid() % 1000), unreserved = owned + 1;
  move_self(cell);

  std::vector<double> on_owned, on_free, off_owned, off_free;
  int status = 0;
  for (int r = 0; r < rounds && status == 0; ++r) {
    {
      auto policy = BpfPolicy::ensure_loaded(paths);
      const uint16_t ports[] = {owned};
      if (!policy || !policy->register_cell(st.st_ino, 1, cells::kernel::Profile::kLow, ports)) {
        std::fprintf(stderr, "bpf_bind_bench: load/register failed\n");
        status = 1;
        break;
      }
      on_owned.push_back(time_binds(owned, ops));
      on_free.push_back(time_binds(unreserved, ops));
    }
    (void)BpfPolicy::unload(paths);
    off_owned.push_back(time_binds(owned, ops));
    off_free.push_back(time_binds(unreserved, ops));
  }

  (void)BpfPolicy::unload(paths);
  move_self(home);
  rmdir(cell.c_str());
  rmdir(paths.cgroup_parent().c_str());
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  if (status != 0) return status;

  std::printf("socket+bind+close on 127.0.0.1, %d rounds x %d ops, ns/op (median [p10..p90])\n",
              rounds, ops);
  auto row = [](const char* name, const std::vector<double>& on, const std::vector<double>& off) {
    Stats a = stats(on), b = stats(off);
    std::printf("%-22s attached %7.0f [%.0f..%.0f]  detached %7.0f [%.0f..%.0f]  ratio %.3f\n",
                name, a.median, a.p10, a.p90, b.median, b.p10, b.p90, a.median / b.median);
  };
  row("owned port (hit)", on_owned, off_owned);
  row("unreserved (miss)", on_free, off_free);
  return 0;
}
