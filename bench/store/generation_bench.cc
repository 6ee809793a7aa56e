// Generation commit benchmark (not a test): the cost of committing a one-cell change as a new
// generation, at 1 and at N cells, as `cellmgr apply` does it (the current generation read and
// compared first, outside the timing). Store format 2 writes only the changed cell, so the
// two should be close; format 1 encoded and wrote all N manifests (decision 77).
//
// Usage: generation_bench DIR [N] [COMMITS]. DIR must be on the filesystem to measure (each
// commit is durable: LMDB fsyncs). Prints median [p10..p90] per N and the ratio N : 1.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using namespace cells;
using namespace cells::store;

DesiredState cells_state(int n) {
  DesiredState d;
  for (int i = 0; i < n; ++i) {
    CellManifest c;
    c.name = "c" + std::to_string(i);
    c.autostart = true;
    c.profile = "medium";
    c.command = {"sleep", "100000"};
    c.log = {"daemon", "info", "err", ""};
    c.base = "host";
    c.manifest_text = "name = \"" + c.name +
                      "\"\ncommand = \"sleep 100000\"\nautostart = true\nprofile = \"medium\"\n";
    d.cells.push_back(std::move(c));
  }
  return d;
}

struct Stats {
  double median, p10, p90;
};

Stats one_cell_commits(const std::string& root, int n, int commits) {
  std::filesystem::remove_all(root);
  auto paths = *Paths::from_root(root);
  Store st = *Store::open(paths, OpenMode::kReadWrite);
  DesiredState d = cells_state(n);
  Operation op = *st.begin_operation("apply", "cells");
  if (!op.commit_generation(d).ok()) std::exit(1);
  std::vector<double> ms;
  for (int i = 0; i < commits; ++i) {
    d.cells[0].command[1] = std::to_string(100001 + i);
    auto cur = st.generation(*st.current_generation());
    if (!cur.ok() || !*cur) std::exit(1);
    auto t0 = std::chrono::steady_clock::now();
    if (!op.commit_generation(d, {}, &**cur).ok()) std::exit(1);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms[static_cast<size_t>(q * (ms.size() - 1))]; };
  return {at(0.5), at(0.1), at(0.9)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: generation_bench DIR [N] [COMMITS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int n = argc > 2 ? std::atoi(argv[2]) : 1000;
  const int commits = argc > 3 ? std::atoi(argv[3]) : 41;
  Stats one = one_cell_commits(dir + "/n1", 1, commits);
  Stats many = one_cell_commits(dir + "/n" + std::to_string(n), n, commits);
  std::printf("one-cell change committed, 1 cell:     %.2f ms [%.2f..%.2f]\n", one.median, one.p10,
              one.p90);
  std::printf("one-cell change committed, %d cells: %.2f ms [%.2f..%.2f]\n", n, many.median,
              many.p10, many.p90);
  std::printf("ratio %d : 1 = %.2f\n", n, many.median / one.median);
  return 0;
}
