// The pre-apply snapshot (engine/snapshot.h) of a 10 MiB and a 1 GiB writable layer, in the
// same run, alternating the sizes:
//   stacked (low/medium): take() = rename the upper layer into the stack + a fresh empty upper;
//                         discard() = rollback to it (both expected O(1));
//   copy (high):          take() = cp -a --reflink=auto of the layer; keep() = drop the copy;
//   peer:                 `cp -a` of the same layer, the naive full snapshot.
// Not a test: see docs/PERFORMANCE.md "## Apply". Root not needed (no mounts are made).
//
//   snapshot_bench WORKDIR REPS
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/snapshot.h"

namespace fs = std::filesystem;
using namespace cells;
using namespace cells::engine;

namespace {

double ms(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

void must(const Status& st, const char* what) {
  if (!st) {
    std::fprintf(stderr, "%s: %s\n", what, st.error().message().c_str());
    std::exit(1);
  }
}

void write_file(const std::string& path, size_t n, char fill) {
  std::vector<char> buf(std::min<size_t>(n, 1 << 20), fill);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  for (size_t done = 0; done < n;) {
    size_t k = std::min(buf.size(), n - done);
    if (::write(fd, buf.data(), k) != static_cast<ssize_t>(k)) std::exit(1);
    done += k;
  }
  ::close(fd);
}

// Half the bytes in 256 KiB files spread over 16 directories, half in 8 large files.
void make_layer(const std::string& dir, uint64_t bytes) {
  fs::create_directories(dir);
  const size_t small = 256 << 10;
  for (uint64_t done = 0, i = 0; done < bytes / 2; done += small, ++i) {
    std::string sub = dir + "/d" + std::to_string(i % 16);
    fs::create_directories(sub);
    write_file(sub + "/f" + std::to_string(i), small, char('a' + i % 26));
  }
  for (int i = 0; i < 8; ++i) write_file(dir + "/large" + std::to_string(i), bytes / 16, 'L');
  ::sync();
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

struct Case {
  const char* label;
  uint64_t bytes;
  CellRootLayout l;
  std::vector<double> stacked_take, stacked_discard, copy_take, copy_keep, peer;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: snapshot_bench WORKDIR REPS\n");
    return 2;
  }
  std::string work = argv[1];
  int reps = std::stoi(argv[2]);
  fs::remove_all(work);
  std::vector<Case> cases = {{"10 MiB", 10ull << 20, {}, {}, {}, {}, {}, {}},
                             {"1 GiB", 1ull << 30, {}, {}, {}, {}, {}, {}}};
  for (auto& c : cases) {
    std::string cell = work + "/" + std::to_string(c.bytes);
    c.l = {cell, cell + "/overlay", cell + "/work", cell + "/root", cell + "/snapshot"};
    fs::create_directories(c.l.work);
    fs::create_directories(c.l.root);
    make_layer(c.l.overlay, c.bytes);
  }
  for (int i = 0; i < reps; ++i) {
    for (size_t k = 0; k < cases.size(); ++k) {
      Case& c = cases[(k + i) % cases.size()];  // alternate which size goes first
      c.stacked_take.push_back(ms([&] { must(snapshot::take(c.l, snapshot::Kind::kStacked), "take"); }));
      c.stacked_discard.push_back(ms([&] { must(snapshot::discard(c.l), "discard"); }));
      ::sync();
      c.copy_take.push_back(ms([&] { must(snapshot::take(c.l, snapshot::Kind::kCopy), "take copy"); }));
      c.copy_keep.push_back(ms([&] { must(snapshot::keep(c.l), "keep copy"); }));
      ::sync();
      std::string peer = c.l.cell_dir + "/peer-copy";
      c.peer.push_back(ms([&] {
        if (std::system(("cp -a " + c.l.overlay + " " + peer).c_str()) != 0) std::exit(1);
      }));
      fs::remove_all(peer);
      ::sync();
    }
  }
  std::printf("| layer | stacked take (low/medium) | stacked discard | copy take (high) | copy keep "
              "(drop) | peer cp -a | copy/peer |\n|---|---|---|---|---|---|---|\n");
  auto cell = [](const std::vector<double>& v) {
    Stats s = stats(v);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2f ms [%.2f..%.2f]", s.median, s.min, s.max);
    return std::string(buf);
  };
  for (auto& c : cases) {
    std::printf("| %s | %s | %s | %s | %s | %s | %.2f |\n", c.label, cell(c.stacked_take).c_str(),
                cell(c.stacked_discard).c_str(), cell(c.copy_take).c_str(),
                cell(c.copy_keep).c_str(), cell(c.peer).c_str(),
                stats(c.copy_take).median / stats(c.peer).median);
  }
  std::printf("stacked take, 1 GiB / 10 MiB: %.2f; copy take, 1 GiB / 10 MiB: %.1f\n",
              stats(cases[1].stacked_take).median / stats(cases[0].stacked_take).median,
              stats(cases[1].copy_take).median / stats(cases[0].copy_take).median);
  fs::remove_all(work);
  return 0;
}
