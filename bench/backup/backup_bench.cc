// Backup and restore throughput against the peer pipelines, in the same run, alternating order:
//   backup:  Backups::create            vs  tar -cf - -C SRC . | zstd -3 -T0 -o FILE
//   restore: Backups::restore (replace) vs  zstd -dc FILE | tar -xf - -C DIR
// plus the two ways of compressing inside backup/ (libzstd with nbWorkers vs libarchive's zstd
// filter with threads). Not a test: see run.sh and docs/PERFORMANCE.md "## Backup and restore".
//
//   backup_bench WORKDIR SIZE_MIB REPS [RAW_TSV]
//   backup_bench --restore|--restore-full WORKDIR SIZE_MIB REPS
//
// --restore measures restore alone (one archive, made once): the full restore and the plain
// extraction against zstd -d | tar -x, the two ways of writing members (StagingWriter vs
// libarchive's archive_write_disk) and extraction + syncfs with and without early writeback,
// each also as CPU seconds (user + system, every thread; the peer's from its children), which
// the load of a shared machine disturbs far less than wall time. --restore-full: the full
// restore rows only (for 1 GiB on a shared machine).
//
// With RAW_TSV (tools/bench), restic and borg join as peers when they are installed (a fresh,
// unencrypted-by-password-file repository per repetition, so neither deduplicates against an
// earlier repetition; zstd level 3 for borg, restic's default "auto" compression), the
// extraction-only and compressor rows are left out to save time at 1 GiB, and every sample is
// written as "series<TAB>seconds<TAB>data MiB".
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backup/archive_io.h"
#include "backup/backup.h"

namespace fs = std::filesystem;
using namespace cells;
using namespace cells::backup;

namespace {

// Text-like data: words from a small vocabulary with random numbers (zstd -3 gets ~3-4x).
std::string make_data(std::mt19937_64& rng, size_t n) {
  static const char* kWords[] = {"cell ",    "volume ",  "journal ", "backup ",
                                 "restore ", "kernel ",  "policy ",  "freeze ",
                                 "archive ", "overlay ", "\n",       "= "};
  std::string s;
  s.reserve(n + 16);
  while (s.size() < n) {
    uint64_t r = rng();
    if (r % 5 == 0) {
      s += std::to_string(r >> 20);
      s += ' ';
    } else {
      s += kWords[r % 12];
    }
  }
  s.resize(n);
  return s;
}

// Many small files (about half the bytes) in 100 directories, plus four large ones.
void make_tree(const std::string& dir, uint64_t total) {
  std::mt19937_64 rng(42);
  uint64_t small_budget = total / 2, done = 0;
  for (int f = 0; done < small_budget; ++f) {
    std::string sub = dir + "/d" + std::to_string(f % 100);
    fs::create_directories(sub);
    size_t n = 1024 + rng() % (32 * 1024);
    std::ofstream(sub + "/f" + std::to_string(f)) << make_data(rng, n);
    done += n;
  }
  for (int i = 0; i < 4; ++i) {
    std::ofstream out(dir + "/large" + std::to_string(i));
    for (uint64_t w = 0; w < (total - small_budget) / 4; w += 1 << 20)
      out << make_data(rng, 1 << 20);
  }
}

double seconds(const std::function<void()>& fn) {
  auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void sh(const std::string& cmd) {
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "failed: %s\n", cmd.c_str());
    std::exit(1);
  }
}

bool on_path(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

void drop_caches() {
  ::sync();
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

void print(const char* what, const std::vector<double>& ours, const std::vector<double>& peer,
           double mib) {
  Stats o = stats(ours), p = stats(peer);
  std::printf(
      "| %s | %.2f s (%.2f-%.2f) = %.0f MiB/s | %.2f s (%.2f-%.2f) = %.0f MiB/s | %.2fx |\n", what,
      o.median, o.min, o.max, mib / o.median, p.median, p.min, p.max, mib / p.median,
      p.median / o.median);
}


// CPU seconds (user + system) of this process's threads, or of its waited-for children.
double cpu_seconds(int who) {
  struct rusage ru {};
  ::getrusage(who, &ru);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// Wall seconds of FN into WALL, CPU seconds (of WHO) into CPU.
void timed(int who, std::vector<double>& wall, std::vector<double>& cpu,
           const std::function<void()>& fn) {
  double c0 = cpu_seconds(who);
  wall.push_back(seconds(fn));
  cpu.push_back(cpu_seconds(who) - c0);
}

void print_cpu(const char* what, const std::vector<double>& ours, const std::vector<double>& peer) {
  Stats o = stats(ours), p = stats(peer);
  std::printf("| %s (CPU) | %.2f s (%.2f-%.2f) | %.2f s (%.2f-%.2f) | %.2fx |\n", what, o.median,
              o.min, o.max, p.median, p.min, p.max, p.median / o.median);
}

void fresh_dir(const std::string& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
}

// --restore: see the header comment.
int restore_only(const std::string& work, const std::string& src, double data_mib, int reps,
                 Backups& b, const Paths& paths, bool full_only) {
  auto made = b.create(Kind::kVolume, "bench", src, {});
  if (!made) return std::fprintf(stderr, "%s\n", made.error().message().c_str()), 1;
  const std::string archive = made->path, peer_file = work + "/peer.tar.zst";
  sh("tar -cf - -C " + src + " . | zstd -3 -T0 -q -f -o " + peer_file);
  const std::string trash = paths.lib_dir() + "/backup-trash", target = work + "/target",
                    out = work + "/out";
  std::vector<double> full, full_cpu, full_la, full_la_cpu, peer, peer_cpu, ext, ext_cpu, la, la_cpu, wb, wb_cpu, nowb,
      nowb_cpu;
  auto extract = [&](ReadOptions ro, bool sync, std::vector<double>& wall,
                     std::vector<double>& cpu) {
    fresh_dir(out);
    drop_caches();
    timed(RUSAGE_SELF, wall, cpu, [&] {
      auto r = extract_archive(archive, out, ro);
      if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
      if (sync) {
        int fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY);
        ::syncfs(fd);
        ::close(fd);
      }
    });
  };
  for (int i = 0; i < reps; ++i) {
    // Alternate the order of every pair, so neither side always follows the other's writeback.
    auto ours = [&](bool libarchive) {
      drop_caches();
      RestoreOptions ro;
      ro.background_cleanup = true;  // as cellmgr restores
      ro.libarchive_writer = libarchive;
      timed(RUSAGE_SELF, libarchive ? full_la : full, libarchive ? full_la_cpu : full_cpu, [&] {
        auto r = b.restore(Kind::kVolume, "bench", made->record.file, target, ro);
        if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
      });
      while (fs::exists(trash) && !fs::is_empty(trash)) ::usleep(20 * 1000);
    };
    auto theirs = [&] {
      fresh_dir(out);
      drop_caches();
      timed(RUSAGE_CHILDREN, peer, peer_cpu,
            [&] { sh("zstd -dc -q " + peer_file + " | tar -xf - -C " + out); });
    };
    ReadOptions staging_writer, libarchive_writer, with_wb, without_wb;
    libarchive_writer.libarchive_writer = true;
    with_wb.early_writeback = true;
    auto writers = [&](bool first) {
      if (first) extract(staging_writer, false, ext, ext_cpu);
      else extract(libarchive_writer, false, la, la_cpu);
    };
    auto writebacks = [&](bool first) {
      if (first) extract(with_wb, true, wb, wb_cpu);
      else extract(without_wb, true, nowb, nowb_cpu);
    };
    bool even = i % 2 == 0;
    if (even) ours(false), theirs(), ours(true);
    else ours(true), theirs(), ours(false);
    if (!full_only) {
      writers(even), writers(!even);
      writebacks(even), writebacks(!even);
    }
    fs::remove_all(out);
  }
  std::printf("| | cells | peer | speedup (peer/cells) |\n|---|---|---|---|\n");
  print("restore (journaled, staged, verified, syncfs, swap) vs zstd -d | tar -x", full, peer,
        data_mib);
  print_cpu("restore vs zstd -d | tar -x", full_cpu, peer_cpu);
  print("restore before (archive_write_disk) vs zstd -d | tar -x", full_la, peer, data_mib);
  print_cpu("restore before (archive_write_disk) vs zstd -d | tar -x", full_la_cpu, peer_cpu);
  print("restore: StagingWriter (cells) vs archive_write_disk (peer)", full, full_la, data_mib);
  if (full_only) return fs::remove_all(work), 0;
  print("extraction alone vs zstd -d | tar -x", ext, peer, data_mib);
  print_cpu("extraction alone vs zstd -d | tar -x", ext_cpu, peer_cpu);
  print("extraction: StagingWriter (cells) vs archive_write_disk (peer)", ext, la, data_mib);
  print_cpu("extraction: StagingWriter vs archive_write_disk", ext_cpu, la_cpu);
  print("extraction + syncfs: early writeback on (cells) vs off (peer)", wb, nowb, data_mib);
  print_cpu("extraction + syncfs: early writeback on vs off", wb_cpu, nowb_cpu);
  fs::remove_all(work);
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  // --extract ARCHIVE DIR [libarchive]: one extract_archive into DIR, nothing else, for
  // strace -c, perf stat or callgrind of the extraction alone.
  if (argc >= 4 && std::string(argv[1]) == "--extract") {
    ReadOptions ro;
    ro.libarchive_writer = argc == 5 && std::string(argv[4]) == "libarchive";
    auto r = extract_archive(argv[2], argv[3], ro);
    if (!r) return std::fprintf(stderr, "%s\n", r.error().message().c_str()), 1;
    std::printf("%llu entries, %llu bytes\n", static_cast<unsigned long long>(r->entries),
                static_cast<unsigned long long>(r->data_bytes));
    return 0;
  }
  const std::string mode = argc == 5 ? argv[1] : "";
  const bool restore_mode = mode == "--restore" || mode == "--restore-full";
  if (restore_mode) ++argv, --argc;
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr,
                 "usage: backup_bench WORKDIR SIZE_MIB REPS [RAW_TSV]\n"
                 "       backup_bench --restore|--restore-full WORKDIR SIZE_MIB REPS\n");
    return 2;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // rows appear as they are measured
  std::string work = argv[1];
  uint64_t mib = std::stoull(argv[2]);
  int reps = std::stoi(argv[3]);
  const bool suite = argc == 5;
  const bool restic = suite && on_path("restic"), borg = suite && on_path("borg");
  // restic wants a password even for a throw-away repository; borg runs without encryption.
  ::setenv("RESTIC_PASSWORD", "cells-bench", 1);
  ::setenv("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes", 1);
  ::setenv("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes", 1);
  fs::remove_all(work);
  fs::create_directories(work);
  std::string src = work + "/src";
  make_tree(src, mib << 20);
  uint64_t files = 0, bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(src)) {
    if (e.is_regular_file()) {
      ++files;
      bytes += e.file_size();
    }
  }
  double data_mib = static_cast<double>(bytes) / (1 << 20);
  std::printf("tree: %llu files, %.0f MiB\n", static_cast<unsigned long long>(files), data_mib);

  auto paths = *Paths::from_root(work + "/root");
  auto b = Backups::open(paths);
  if (!b) {
    std::fprintf(stderr, "%s\n", b.error().message().c_str());
    return 1;
  }
  if (restore_mode)
    return restore_only(work, src, data_mib, reps, *b, paths, mode == "--restore-full");
  std::vector<double> ours_b, peer_b, peer_b_durable, ours_r, peer_r, lz, la, extract_only,
      peer_durable, restic_b, restic_r, borg_b, borg_r;
  std::vector<double> spans[4];  // restore: extract, syncfs, swap, remove old tree
  std::vector<double> trash_wait;  // after a restore returned: until the old tree is gone
  const std::string trash = paths.lib_dir() + "/backup-trash";
  std::string peer_file = work + "/peer.tar.zst";
  std::string last;
  uint64_t ours_size = 0, peer_size = 0;
  for (int i = 0; i < reps; ++i) {
    bool ours_first = i % 2 == 0;
    auto run_ours = [&] {
      drop_caches();
      ours_b.push_back(seconds([&] {
        auto r = b->create(Kind::kVolume, "bench", src, {});
        if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
        last = r->record.file;
        ours_size = r->record.size;
      }));
    };
    auto run_peer = [&] {
      drop_caches();
      peer_b.push_back(
          seconds([&] { sh("tar -cf - -C " + src + " . | zstd -3 -T0 -q -f -o " + peer_file); }));
      peer_size = fs::file_size(peer_file);
    };
    if (ours_first)
      run_ours(), run_peer();
    else
      run_peer(), run_ours();
    drop_caches();
    peer_b_durable.push_back(seconds([&] {
      sh("tar -cf - -C " + src + " . | zstd -3 -T0 -q -f -o " + peer_file + " && sync -f " +
         peer_file);
    }));

    std::string target = work + "/target";
    std::string peer_dir = work + "/peer-out";
    auto restore_ours = [&] {
      drop_caches();
      RestoreOptions ro;
      ro.background_cleanup = true;  // as cellmgr restores
      ours_r.push_back(seconds([&] {
        auto r = b->restore(Kind::kVolume, "bench", last, target, ro);
        if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
        spans[0].push_back(std::chrono::duration<double>(r->spans.extract).count());
        spans[1].push_back(std::chrono::duration<double>(r->spans.sync).count());
        spans[2].push_back(std::chrono::duration<double>(r->spans.swap).count());
        spans[3].push_back(std::chrono::duration<double>(r->spans.cleanup).count());
      }));
      // Not timed: the old tree's removal finishes before the next measurement, so it never
      // competes with the peer for the disk. Its own time is reported separately.
      trash_wait.push_back(seconds([&] {
        while (fs::exists(trash) && !fs::is_empty(trash)) ::usleep(20 * 1000);
      }));
    };
    auto restore_peer = [&] {
      fs::remove_all(peer_dir);
      fs::create_directories(peer_dir);
      drop_caches();
      peer_r.push_back(
          seconds([&] { sh("zstd -dc -q " + peer_file + " | tar -xf - -C " + peer_dir); }));
    };
    if (ours_first)
      restore_ours(), restore_peer();
    else
      restore_peer(), restore_ours();

    // restic and borg, each into a repository of its own made fresh for this repetition.
    if (restic) {
      std::string repo = work + "/restic-repo", out = work + "/restic-out";
      fs::remove_all(repo);
      fs::remove_all(out);
      sh("restic -q -r " + repo + " init >/dev/null");
      drop_caches();
      restic_b.push_back(
          seconds([&] { sh("restic -q -r " + repo + " backup " + src + " >/dev/null"); }));
      drop_caches();
      restic_r.push_back(seconds([&] {
        sh("restic -q -r " + repo + " restore latest --target " + out + " >/dev/null");
      }));
      fs::remove_all(repo);
      fs::remove_all(out);
    }
    if (borg) {
      std::string repo = work + "/borg-repo", out = work + "/borg-out";
      fs::remove_all(repo);
      fs::remove_all(out);
      fs::create_directories(out);
      sh("borg init -e none " + repo);
      drop_caches();
      borg_b.push_back(seconds([&] {
        sh("cd " + src + " && borg create --compression zstd,3 " + repo + "::bench .");
      }));
      drop_caches();
      borg_r.push_back(seconds([&] { sh("cd " + out + " && borg extract " + repo + "::bench"); }));
      fs::remove_all(repo);
      fs::remove_all(out);
    }
    // Extraction alone (what the peer does): extract_archive into a fresh directory, no
    // journal, no syncfs, no swap, no removal of the old tree.
    if (!suite) {
      std::string fresh = work + "/extract-only";
      fs::remove_all(fresh);
      fs::create_directories(fresh);
      drop_caches();
      extract_only.push_back(seconds([&] {
        auto r = extract_archive(paths.backups_dir() + "/volumes/" + last, fresh, {});
        if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
      }));
    }
    // The peer with the same guarantees as a cells restore: durable, and replacing the old tree.
    fs::remove_all(peer_dir + ".new");
    fs::create_directories(peer_dir + ".new");
    drop_caches();
    peer_durable.push_back(seconds([&] {
      sh("zstd -dc -q " + peer_file + " | tar -xf - -C " + peer_dir + ".new && sync -f " +
         peer_dir + ".new && rm -rf " + peer_dir + " && mv " + peer_dir + ".new " + peer_dir);
    }));

    // The two compressors inside backup/, same tree walk, to a file, fsynced.
    for (bool use_la : {i % 2 == 0, i % 2 != 0}) {
      if (suite) break;
      std::string out = work + "/compressor.tar.zst";
      int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      WriteOptions wo;
      wo.libarchive_zstd = use_la;
      drop_caches();
      double t = seconds([&] {
        auto r = write_tree(src, fd, wo);
        if (!r) std::fprintf(stderr, "%s\n", r.error().message().c_str()), std::exit(1);
        ::fsync(fd);
      });
      ::close(fd);
      (use_la ? la : lz).push_back(t);
    }
    auto list = b->list(Kind::kVolume, "bench");
    for (size_t k = 1; list && k < list->size(); ++k)
      (void)b->remove(Kind::kVolume, (*list)[k].name.file());
  }
  if (suite) {
    FILE* raw = std::fopen(argv[4], "w");
    if (!raw) {
      std::fprintf(stderr, "cannot write %s\n", argv[4]);
      return 1;
    }
    auto put = [&](const char* series, const std::vector<double>& v) {
      for (double t : v) std::fprintf(raw, "%s\t%.4f\t%.1f\n", series, t, data_mib);
    };
    put("cells-backup", ours_b);
    put("tar|zstd-backup", peer_b);
    put("tar|zstd+sync-backup", peer_b_durable);
    put("restic-backup", restic_b);
    put("borg-backup", borg_b);
    put("cells-restore", ours_r);
    put("zstd|tar-restore", peer_r);
    put("zstd|tar+sync+swap-restore", peer_durable);
    put("restic-restore", restic_r);
    put("borg-restore", borg_r);
    std::fclose(raw);
  }
  std::printf("archive sizes: cells %.1f MiB, tar|zstd %.1f MiB\n", ours_size / 1048576.0,
              peer_size / 1048576.0);
  std::printf("| | cells | peer | speedup (peer/cells) |\n|---|---|---|---|\n");
  print("backup (cells: journaled, frozen set empty, fsync + rename)", ours_b, peer_b, data_mib);
  print("backup vs the peer with the same guarantees (tar | zstd; sync -f)", ours_b, peer_b_durable,
        data_mib);
  print("restore (cells: journaled, staged, syncfs, swap; old tree removed in the background)", ours_r, peer_r,
        data_mib);
  if (suite) {
    print("restore vs the peer with the same guarantees (tar -x; sync -f; rm -rf old; mv)",
          ours_r, peer_durable, data_mib);
    if (restic) print("backup vs restic", ours_b, restic_b, data_mib);
    if (restic) print("restore vs restic", ours_r, restic_r, data_mib);
    if (borg) print("backup vs borg", ours_b, borg_b, data_mib);
    if (borg) print("restore vs borg", ours_r, borg_r, data_mib);
    fs::remove_all(work);
    return 0;
  }
  print("extraction only (extract_archive into a fresh dir) vs the plain peer", extract_only,
        peer_r, data_mib);
  print("restore vs the peer with the same guarantees (tar -x; sync -f; rm -rf old; mv)", ours_r,
        peer_durable, data_mib);
  print("compressor: libzstd nbWorkers (cells) vs libarchive zstd filter (peer)", lz, la, data_mib);
  std::printf("\nrestore spans, median (min-max):");
  const char* span_names[] = {"extract", "syncfs", "swap", "hand-off of the old tree"};
  for (int k = 0; k < 4; ++k) {
    Stats st = stats(spans[k]);
    std::printf(" %s %.2f s (%.2f-%.2f);", span_names[k], st.median, st.min, st.max);
  }
  Stats tw = stats(trash_wait);
  std::printf(" background removal of the old tree after return %.2f s (%.2f-%.2f)", tw.median,
              tw.min, tw.max);
  Stats rb = stats(ours_b), rr = stats(ours_r);
  std::printf("\nrestore/backup time (cells): %.2f\n", rr.median / rb.median);
  fs::remove_all(work);
  return 0;
}
