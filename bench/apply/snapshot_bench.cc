// The pre-apply snapshot (engine/snapshot.h) of a 10 MiB and a 1 GiB writable layer, in the
// same run, alternating the sizes. Every profile now takes the same snapshot; what differs is
// the root mounted over it, so each round times:
//   take:        rename the layer into the stack + a fresh empty upper (all profiles);
//   low mount:   overlayfs lowerdir=snapshot:base, upperdir=fresh (low/medium), then umount;
//   high mount:  the overlay of the idmapped snapshot and fresh layer (kernel/mapped_root.h),
//                created with the cell root's ids, then umount;
//   discard:     rollback to the snapshot;
//   peer:        `cp -a` of the same layer: what the high snapshot cost before (a full copy).
// Not a test: see docs/PERFORMANCE.md "## Apply". Needs root (it mounts).
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

#include <sys/mount.h>

#include "engine/snapshot.h"
#include "kernel/mapped_root.h"
#include "kernel/userns.h"

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
  std::vector<double> take, low_mount, high_mount, discard, peer;
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
  const std::string base = work + "/base";
  fs::create_directories(base);
  const kernel::IdRange ids = kernel::id_range_for_cid(1);
  auto userns = kernel::create_user_namespace(ids);
  if (!userns) must(userns.error(), "user namespace");
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
      c.take.push_back(ms([&] { must(snapshot::take(c.l), "take"); }));
      c.low_mount.push_back(ms([&] {
        std::string opts = "lowerdir=" + c.l.snapshot + ":" + base + ",upperdir=" + c.l.overlay +
                           ",workdir=" + c.l.work;
        if (::mount("overlay", c.l.root.c_str(), "overlay", 0, opts.c_str()) != 0) std::exit(1);
        if (::umount2(c.l.root.c_str(), 0) != 0) std::exit(1);
      }));
      c.high_mount.push_back(ms([&] {
        auto tree = kernel::mapped_overlay({c.l.cell_dir, {"snapshot"}, "overlay", "work"},
                                           userns->get(), ids.host_base);
        if (!tree) must(tree.error(), "mapped overlay");
        if (::move_mount(tree->get(), "", AT_FDCWD, c.l.root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) std::exit(1);
        tree->reset();  // an open fd of the mount keeps it busy
        if (::umount2(c.l.root.c_str(), 0) != 0) std::exit(1);
      }));
      c.discard.push_back(ms([&] { must(snapshot::discard(c.l), "discard"); }));
      ::sync();
      std::string peer = c.l.cell_dir + "/peer-copy";
      c.peer.push_back(ms([&] {
        if (std::system(("cp -a " + c.l.overlay + " " + peer).c_str()) != 0) std::exit(1);
      }));
      fs::remove_all(peer);
      ::sync();
    }
  }
  std::printf("| layer | take (all profiles) | low mount+umount | high mount+umount | discard | "
              "peer cp -a (old high) | peer/(take+high mount) |\n|---|---|---|---|---|---|---|\n");
  auto cell = [](const std::vector<double>& v) {
    Stats s = stats(v);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.2f ms [%.2f..%.2f]", s.median, s.min, s.max);
    return std::string(buf);
  };
  for (auto& c : cases) {
    std::printf("| %s | %s | %s | %s | %s | %s | %.0f |\n", c.label, cell(c.take).c_str(),
                cell(c.low_mount).c_str(), cell(c.high_mount).c_str(), cell(c.discard).c_str(),
                cell(c.peer).c_str(),
                stats(c.peer).median / (stats(c.take).median + stats(c.high_mount).median));
  }
  std::printf("1 GiB / 10 MiB: take %.2f, low mount %.2f, high mount %.2f, peer %.1f\n",
              stats(cases[1].take).median / stats(cases[0].take).median,
              stats(cases[1].low_mount).median / stats(cases[0].low_mount).median,
              stats(cases[1].high_mount).median / stats(cases[0].high_mount).median,
              stats(cases[1].peer).median / stats(cases[0].peer).median);
  fs::remove_all(work);
  return 0;
}
