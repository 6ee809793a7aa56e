// Telemetry and supervision costs (run as root):
//   scrape   `stats -P` read+format path over 1, 100 and 1,000 snapshot slots, against the peer
//            a scraper without a snapshot would need: one walk of every /proc/<pid>/stat
//   sampler  CPU time of one CellSampler::tick() for a real cell-like PID namespace with 10
//            processes (the per-cell, per-second cost the instance's cells-sampler pays),
//            against reading the same cgroup's cpu.stat alone
//   uss      private memory (USS, smaps_rollup) of a running `cellctl supervise` daemon,
//            against /bin/sleep as the smallest peer process
// Usage: telemetry_bench [ROUNDS] [CELLCTL]   (CELLCTL defaults to the one built alongside)
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "base/files.h"
#include "kernel/bpf_policy.h"
#include "kernel/seed_ns.h"
#include "kernel/telemetry.h"
#include "kernel/telemetry_format.h"

namespace fs = std::filesystem;
using namespace cells;
using namespace cells::kernel;
using Clock = std::chrono::steady_clock;

namespace {

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

struct Summary {
  double median, p10, p90;
};

Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[size_t(q * double(v.size() - 1) + 0.5)]; };
  return {at(0.5), at(0.1), at(0.9)};
}

double time_us(const std::function<void()>& f) {
  auto t0 = Clock::now();
  f();
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double cpu_us() {
  rusage ru;
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1e6 +
         ru.ru_stime.tv_usec;
}

// The peer: what a scrape costs when it has to look at processes itself.
size_t walk_proc() {
  size_t n = 0;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], buf[1024];
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = ::open(path, O_RDONLY);
    if (fd < 0) continue;
    n += size_t(std::max<ssize_t>(0, ::read(fd, buf, sizeof buf)));
    ::close(fd);
  }
  ::closedir(d);
  return n;
}

void bench_scrape(const std::string& scratch, int rounds) {
  std::printf("\n# scrape: SnapshotFile::read_all + Prometheus format, us per scrape\n");
  std::printf("| slots | snapshot median [p10..p90] | /proc walk peer median [p10..p90] | ratio |\n");
  for (uint32_t n : {1u, 100u, 1000u}) {
    Paths paths = *Paths::from_root(scratch + "/scrape-" + std::to_string(n));
    auto file = SnapshotFile::open_rw(paths);
    for (uint32_t cid = 1; cid <= n; ++cid) {
      CellStats st;
      st.cid = cid;
      st.name = "cell-" + std::to_string(cid);
      st.root = "/var/lib/cellmgr/cells/cell-" + std::to_string(cid) + "/root";
      st.created_unix_ns = 1;
      st.processes = 3;
      st.references = 4;
      st.vmsize_bytes = 123456789;
      st.cpu_ticks_1s = cid % 100;
      (void)file->write_sample(st);
      (void)file->write_supervision(cid, SuperviseState::kRunning, 2, 1234, Health::kUnknown);
    }
    std::vector<double> ours, peer;
    size_t bytes = 0;
    for (int r = 0; r < rounds; ++r) {
      ours.push_back(time_us([&] {
        auto cells = SnapshotFile::read_all(paths);
        bytes = format_stats(*cells, {StatsFormat::kPrometheus}, 2'000'000'000).size();
      }));
      peer.push_back(time_us([&] { walk_proc(); }));
    }
    Summary a = summarize(ours), b = summarize(peer);
    std::printf("| %u | %.0f [%.0f..%.0f] | %.0f [%.0f..%.0f] | %.2f |  (%zu bytes of text)\n", n,
                a.median, a.p10, a.p90, b.median, b.p10, b.p90, a.median / b.median, bytes);
  }
}

// The whole command as an operator or inetd runs it (exec, dynamic linking, read, format,
// write), against `ps -e` as a process-walking scraper.
void bench_scrape_process(const std::string& scratch, const std::string& cellctl, int rounds) {
  std::printf("\n# scrape, whole process: `cellctl stats -P > /dev/null` with 1,000 slots, ms\n");
  std::string root = scratch + "/scrape-1000";
  std::vector<double> ours, peer;
  for (int r = 0; r < rounds; ++r) {
    ours.push_back(time_us([&] { sh(cellctl + " --root " + root + " stats -P > /dev/null"); }) / 1000);
    peer.push_back(time_us([&] { sh("ps -e -o pid,vsz,rss,time > /dev/null"); }) / 1000);
  }
  Summary a = summarize(ours), b = summarize(peer);
  std::printf("| cellctl stats -P | %.1f [%.1f..%.1f] | ps -e peer | %.1f [%.1f..%.1f] | ratio %.2f |\n",
              a.median, a.p10, a.p90, b.median, b.p10, b.p90, a.median / b.median);
}

void bench_sampler(const std::string& scratch, int rounds) {
  // A cell stand-in: a cgroup and a PID namespace with its own /proc holding 10 processes.
  Paths paths = *Paths::from_root(scratch + "/sampler");
  std::string cg = paths.cgroup_parent() + "/bench";
  (void)make_dirs(cg);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::ofstream(cg + "/cgroup.procs") << 0;
    ::execlp("unshare", "unshare", "--pid", "--fork", "--mount-proc", "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8; do sleep 1000 & done; wait", nullptr);
    ::_exit(127);
  }
  // unshare's forked child is the namespace's PID 1; its root/proc is the namespace's /proc.
  std::string proc;
  for (int i = 0; i < 200 && proc.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::ifstream in(cg + "/cgroup.procs");
    std::vector<pid_t> pids;
    for (pid_t p; in >> p;) pids.push_back(p);
    if (pids.size() >= 10) proc = "/proc/" + std::to_string(pids[1]) + "/root/proc";
  }
  int cg_fd = ::open(cg.c_str(), O_RDONLY | O_DIRECTORY);
  int proc_fd = ::open(proc.c_str(), O_RDONLY | O_DIRECTORY);
  auto sampler = CellSampler::open(paths, cg_fd, proc_fd, {1, "bench", "/", 1});
  if (!sampler.ok()) {
    std::printf("sampler: %s\n", sampler.error().message().c_str());
    return;
  }
  (void)sampler->tick();
  std::printf("\n# sampler: CPU time per tick (one cell, one second), us; procs seen: %u\n",
              sampler->last().processes);
  std::vector<double> ours, peer;
  int cpu_fd = ::openat(cg_fd, "cpu.stat", O_RDONLY);
  for (int r = 0; r < rounds; ++r) {
    double c0 = cpu_us();
    for (int i = 0; i < 200; ++i) (void)sampler->tick();
    ours.push_back((cpu_us() - c0) / 200);
    c0 = cpu_us();
    char buf[512];
    for (int i = 0; i < 200; ++i) (void)!::pread(cpu_fd, buf, sizeof buf, 0);
    peer.push_back((cpu_us() - c0) / 200);
  }
  Summary a = summarize(ours), b = summarize(peer);
  std::printf("| tick (10 procs) | %.1f [%.1f..%.1f] | cpu.stat read alone | %.1f [%.1f..%.1f] | ratio %.1f |\n",
              a.median, a.p10, a.p90, b.median, b.p10, b.p90, a.median / b.median);
  ::close(cpu_fd);
  ::close(cg_fd);
  ::close(proc_fd);
  std::ofstream(cg + "/cgroup.kill") << 1;
  ::waitpid(pid, nullptr, 0);
  for (int i = 0; i < 100 && ::rmdir(cg.c_str()) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::rmdir(paths.cgroup_parent().c_str());
}

// USS = Private_Clean + Private_Dirty. Private_Clean is file-backed (library and program
// text no other process maps right now), Private_Dirty is memory only this process can ever
// use (heap, stack, relocated data); both are reported.
struct Uss {
  long clean = 0, dirty = 0;
};
Uss uss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  Uss u;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Private_Clean:", 0) == 0) u.clean = std::stol(line.substr(14));
    if (line.rfind("Private_Dirty:", 0) == 0) u.dirty = std::stol(line.substr(14));
  }
  return u;
}


void bench_uss(const std::string& scratch, const std::string& cellctl) {
  std::string root = scratch + "/uss-root", ctl = cellctl + " --root " + scratch + "/uss-install";
  for (const char* d : {"/bin", "/proc", "/dev", "/tmp", "/var", "/run", "/etc"}) {
    fs::create_directories(root + d);
  }
  fs::copy_file("/bin/busybox", root + "/bin/busybox");
  fs::create_symlink("busybox", root + "/bin/sleep");
  if (sh(ctl + " create -l low -n ussbench " + root + " >/dev/null") != 0 ||
      sh(ctl + " supervise ussbench /bin/sleep 1000 >/dev/null") != 0) {
    std::printf("uss: could not create/supervise a cell\n");
    return;
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // settled: a few log lines sent
  std::string pidf = scratch + "/uss-install/run/cellmgr/supervise/ussbench.pid";
  pid_t sup = pid_t(std::stol(*read_file(pidf)));
  pid_t peer = ::fork();
  if (peer == 0) {
    ::execl("/bin/sleep", "sleep", "1000", nullptr);
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Uss a = uss_kib(sup), b = uss_kib(peer);
  std::printf("\n# uss: private memory, KiB (USS = clean + dirty)\n"
              "| cellctl supervise | USS %ld (clean %ld, dirty %ld) | /bin/sleep peer | USS %ld "
              "(clean %ld, dirty %ld) | dirty ratio %.1f |\n",
              a.clean + a.dirty, a.clean, a.dirty, b.clean + b.dirty, b.clean, b.dirty,
              double(a.dirty) / double(b.dirty));
  ::kill(peer, SIGKILL);
  ::waitpid(peer, nullptr, 0);
  sh(ctl + " supervise --stop ussbench >/dev/null");
  sh(ctl + " destroy ussbench >/dev/null");
  (void)BpfPolicy::unload(*Paths::from_root(scratch + "/uss-install"));
  (void)release_seed_mount_ns(*Paths::from_root(scratch + "/uss-install"));
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 30;
  std::string cellctl = argc > 2 ? argv[2] : CELLCTL_PATH;
  char tmpl[] = "/tmp/cells-telemetry-bench-XXXXXX";
  std::string scratch = ::mkdtemp(tmpl);
  bench_scrape(scratch, rounds);
  bench_scrape_process(scratch, cellctl, rounds);
  bench_sampler(scratch, rounds);
  bench_uss(scratch, cellctl);
  fs::remove_all(scratch);
  return 0;
}
