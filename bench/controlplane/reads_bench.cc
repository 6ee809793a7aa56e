// Control-plane reads (not a test): wall time of `cellmgr cell list` and `cellmgr cell list
// --json` with 10, 100 and 1,000 declared cells, against the peer `cat` of the same manifest
// files (one process that reads the same bytes), in the same run, alternating the order.
// Usage: reads_bench CELLMGR DIR REPS
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/process.h"
#include "engine/controlplane.h"
#include "engine/manifest.h"

namespace {

// Wall time of one run of ARGV; its output goes to /dev/null, so no capture is timed.
double run_ms(const std::vector<std::string>& argv) {
  auto t0 = std::chrono::steady_clock::now();
  auto r = cells::run_process(argv, {.log_path = "/dev/null"});
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!r || !r->ok()) {
    std::fprintf(stderr, "%s failed: %s\n", argv[0].c_str(),
                 r ? r->describe().c_str() : r.error().message().c_str());
    std::exit(1);
  }
  return ms;
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

// N manifests (every tenth mounts a shared volume, every cell reserves a port), written the way
// `cell create` writes them, then one committed edit so the store has a generation.
void populate(const cells::Paths& paths, int n) {
  (void)cells::make_dirs(paths.etc_dir());
  cells::engine::VolumeManifest v;
  v.name = "shared";
  (void)cells::write_file_atomic(cells::engine::volume_manifest_path(paths, "shared"),
                                 cells::engine::render_volume(v));
  for (int i = 0; i < n; ++i) {
    cells::engine::CellManifest m;
    m.name = "cell" + std::to_string(i);
    m.command = "busybox httpd -f -p " + std::to_string(20000 + i);
    m.autostart = i % 2 == 0;
    m.profile = "medium";
    m.reserved_ports = {uint16_t(20000 + i)};
    m.log.tag = m.name;
    if (i % 10 == 0) m.mounts.push_back({cells::engine::Mount::Source::kVolume, "shared", "/srv", true});
    (void)cells::write_file_atomic(cells::engine::cell_manifest_path(paths, m.name),
                                   cells::engine::render_cell(m));
  }
  auto gen = cells::engine::commit_desired_edit(
      paths, "volume.set", "volume/shared",
      {{cells::engine::volume_manifest_path(paths, "shared"), cells::engine::render_volume(v)}});
  if (!gen) {
    std::fprintf(stderr, "populate: %s\n", gen.error().message().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: reads_bench CELLMGR DIR REPS\n");
    return 2;
  }
  const std::string cellmgr = argv[1], dir = argv[2];
  const int reps = std::atoi(argv[3]);
  std::printf("| cells | cell list | cell list --json | peer cat | ratio list/peer | ratio json/peer |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (int n : {10, 100, 1000}) {
    auto paths = *cells::Paths::from_root(dir + "/n" + std::to_string(n));
    populate(paths, n);
    std::vector<double> list, json, peer, rl, rj;
    const std::vector<std::string> list_cmd = {cellmgr, "--root", paths.root, "cell", "list"};
    std::vector<std::string> json_cmd = list_cmd;
    json_cmd.push_back("--json");
    const std::vector<std::string> peer_cmd = {"sh", "-c", "cat " + paths.etc_dir() + "/*.cell"};
    for (int i = 0; i < 2; ++i) run_ms(list_cmd);  // warm the page cache
    for (int r = 0; r < reps; ++r) {
      double a, b, c;
      if (r % 2 == 0) {
        a = run_ms(list_cmd), b = run_ms(json_cmd), c = run_ms(peer_cmd);
      } else {
        c = run_ms(peer_cmd), b = run_ms(json_cmd), a = run_ms(list_cmd);
      }
      list.push_back(a), json.push_back(b), peer.push_back(c);
      rl.push_back(a / c), rj.push_back(b / c);
    }
    auto l = stats(list), j = stats(json), p = stats(peer), x = stats(rl), y = stats(rj);
    std::printf("| %d | %.1f ms (%.1f-%.1f) | %.1f ms (%.1f-%.1f) | %.1f ms (%.1f-%.1f) | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) |\n",
                n, l.median, l.min, l.max, j.median, j.min, j.max, p.median, p.min, p.max,
                x.median, x.min, x.max, y.median, y.min, y.max);
    std::fflush(stdout);
  }
  return 0;
}
