// In-process cost of Runtime::spawn (+ wait) of /bin/true into an existing cell, per profile,
// against starting bwrap and unshare (+ wait) from the same process, interleaved round by
// round so every command sees the same machine load. This isolates the runtime's own cost
// from cellctl's process start (see cell_start.sh for the command-line view).
//
//   spawn_bench [ROUNDS] [PER_ROUND]     (as root; defaults 10 x 50)
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kernel/bpf_policy.h"
#include "kernel/cell.h"
#include "kernel/seed_ns.h"

extern char** environ;

namespace {

using cells::kernel::CellInfo;
using cells::kernel::Profile;
using cells::kernel::Runtime;
using Clock = std::chrono::steady_clock;

double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
}

int run_host(const std::vector<const char*>& argv) {
  pid_t pid;
  std::vector<char*> args;
  for (const char* a : argv) args.push_back(const_cast<char*>(a));
  args.push_back(nullptr);
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 10;
  int per_round = argc > 2 ? std::atoi(argv[2]) : 50;
  char tmpl[] = "/tmp/cells-spawn-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string scratch = tmpl;
  std::string root = scratch + "/root";
  std::filesystem::create_directories(root + "/bin");
  std::filesystem::copy_file("/bin/busybox", root + "/bin/busybox");
  std::string install = "chroot " + root + " /bin/busybox --install -s /bin";
  if (std::system(install.c_str()) != 0) return 1;
  auto paths = *cells::Paths::from_root(scratch + "/inst");
  auto rt = Runtime::open(paths);
  if (!rt) {
    std::fprintf(stderr, "spawn_bench: %s\n", rt.error().message().c_str());
    return 1;
  }
  std::map<std::string, std::function<bool()>> cmds;
  std::vector<std::string> order;
  uint32_t cid = 1;
  std::vector<CellInfo> cells;
  for (Profile p : {Profile::kLow, Profile::kMedium, Profile::kHigh}) {
    cells::kernel::CellSpec spec;
    spec.name = std::string("bench-") + std::string(cells::kernel::to_string(p));
    spec.cid = cid++;
    spec.root = root;
    spec.profile = p;
    auto info = rt->create(spec);
    if (!info) {
      std::fprintf(stderr, "spawn_bench: %s\n", info.error().message().c_str());
      return 1;
    }
    cells.push_back(*info);
  }
  for (const auto& c : cells) {
    std::string name = "spawn-" + std::string(cells::kernel::to_string(c.profile));
    order.push_back(name);
    cmds[name] = [&rt, c] {
      cells::kernel::SpawnOptions o;
      o.argv = {"/bin/true"};
      auto child = rt->spawn(c, o);
      if (!child) return false;
      siginfo_t si{};
      waitid(P_PIDFD, static_cast<id_t>(child->pidfd.get()), &si, WEXITED);
      return si.si_status == 0;
    };
  }
  order.push_back("bwrap");
  cmds["bwrap"] = [] {
    return run_host({"bwrap", "--ro-bind", "/", "/", "--unshare-all", "--share-net", "true"}) == 0;
  };
  order.push_back("unshare");
  cmds["unshare"] = [] {
    return run_host({"unshare", "-pfmiu", "--mount-proc", "true"}) == 0;
  };

  std::map<std::string, std::vector<double>> times;
  for (int r = 0; r < rounds; ++r) {
    // Rotate the order each round so no command always runs right after the same neighbour.
    std::rotate(order.begin(), order.begin() + 1, order.end());
    for (const auto& name : order) {
      for (int i = 0; i < per_round; ++i) {
        auto t0 = Clock::now();
        if (!cmds[name]()) {
          std::fprintf(stderr, "spawn_bench: %s failed\n", name.c_str());
          return 1;
        }
        times[name].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    }
  }
  double bwrap = pct(times["bwrap"], 0.5);
  std::printf("| command | median ms | p10..p90 ms | vs bwrap |\n|---|---|---|---|\n");
  std::sort(order.begin(), order.end());
  for (const auto& name : order) {
    const auto& t = times[name];
    std::printf("| %s | %.2f | %.2f..%.2f | %.2fx |\n", name.c_str(), pct(t, 0.5), pct(t, 0.1),
                pct(t, 0.9), pct(t, 0.5) / bwrap);
  }
  for (const auto& c : cells) (void)rt->destroy(c.name, true);
  (void)cells::kernel::BpfPolicy::unload(paths);
  (void)cells::kernel::release_seed_mount_ns(paths);
  std::filesystem::remove_all(scratch);
  return 0;
}
