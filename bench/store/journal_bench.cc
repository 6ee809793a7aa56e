// Durable journal commits per second (one-entry operations and batches of 100) against a plain
// write(2)+fsync(2) append to a file on the same filesystem, and verify time on a large journal.
//
//   journal_bench DIR [REPS] [COMMITS] [VERIFY_ENTRIES]
// DIR must be on the filesystem to measure; the bench creates and removes its files there.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace {

using Clock = std::chrono::steady_clock;
using cells::store::EntryDraft;
using cells::store::Phase;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Stats {
  double median, min, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

EntryDraft entry(int i) {
  return {"bench.step", "cell/bench" + std::to_string(i % 16), Phase::kDone, "before-image",
          "after-image-" + std::to_string(i)};
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "journal_bench: %s\n", what.c_str());
  std::exit(1);
}

cells::store::Store fresh_store(const std::string& root) {
  std::filesystem::remove_all(root);
  auto s = cells::store::Store::open(*cells::Paths::from_root(root),
                                     cells::store::OpenMode::kReadWrite);
  if (!s) die(s.error().message());
  return std::move(*s);
}

// Entries (durable) per second with BATCH entries per commit.
double journal_rate(const std::string& root, int commits, int batch) {
  auto s = fresh_store(root);
  auto op = s.begin_operation("bench", "");
  if (!op) die(op.error().message());
  std::vector<EntryDraft> drafts;
  for (int i = 0; i < batch; ++i) drafts.push_back(entry(i));
  auto t0 = Clock::now();
  for (int c = 0; c < commits; ++c) {
    if (batch == 1) {
      if (auto r = op->append(drafts[0]); !r) die(r.error().message());
    } else if (auto r = op->append_batch(drafts); !r) {
      die(r.error().message());
    }
  }
  return commits * batch / seconds_since(t0);
}

// The peer: records of the same size appended with write(2), fsync(2) after each BATCH.
double file_rate(const std::string& path, int commits, int batch, size_t record) {
  std::filesystem::remove(path);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) die("open " + path);
  std::string rec(record * static_cast<size_t>(batch), 'r');
  auto t0 = Clock::now();
  for (int c = 0; c < commits; ++c) {
    if (::write(fd, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) die("write");
    if (::fsync(fd) != 0) die("fsync");
  }
  double rate = commits * batch / seconds_since(t0);
  ::close(fd);
  std::filesystem::remove(path);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: journal_bench DIR [REPS] [COMMITS] [VERIFY_ENTRIES]");
  std::string dir = argv[1];
  int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  int commits = argc > 3 ? std::atoi(argv[3]) : 200;
  long verify_entries = argc > 4 ? std::atol(argv[4]) : 1'000'000;
  std::string root = dir + "/journal-bench-root";
  std::string flat = dir + "/journal-bench-flat";
  // Size of one stored entry, for a like-for-like peer record.
  cells::store::JournalEntry sample;
  EntryDraft d = entry(0);
  sample.actor = cells::store::Actor::current();
  sample.kind = d.kind;
  sample.target = d.target;
  sample.before = d.before;
  sample.after = d.after;
  size_t record = cells::store::detail::encode_entry(sample).size();
  std::printf("entry size: %zu bytes (incl. 32-byte hash)\n", record);

  for (int batch : {1, 100}) {
    std::vector<double> j, f, ratio;
    for (int r = 0; r < reps; ++r) {
      // Alternate who goes first so that disk warm-up does not favour one side.
      double a, b;
      if (r % 2) {
        b = file_rate(flat, commits, batch, record);
        a = journal_rate(root, commits, batch);
      } else {
        a = journal_rate(root, commits, batch);
        b = file_rate(flat, commits, batch, record);
      }
      j.push_back(a);
      f.push_back(b);
      // One machine-readable line per repetition, for tools/bench's raw results.
      std::printf("sample batch=%d journal=%.1f peer=%.1f\n", batch, a, b);
      ratio.push_back(a / b);
    }
    auto sj = stats(j), sf = stats(f), sr = stats(ratio);
    std::printf("batch %3d: journal %9.0f entries/s (min %.0f, max %.0f) = %7.0f commits/s | "
                "write+fsync %9.0f records/s (min %.0f, max %.0f) | ratio %.2f (min %.2f, "
                "max %.2f)\n",
                batch, sj.median, sj.min, sj.max, sj.median / batch, sf.median, sf.min, sf.max,
                sr.median, sr.min, sr.max);
  }

  // verify on VERIFY_ENTRIES entries, filled in large batches (the fill is not timed).
  {
    auto s = fresh_store(root);
    auto op = s.begin_operation("bench", "");
    std::vector<EntryDraft> drafts;
    for (int i = 0; i < 10'000; ++i) drafts.push_back(entry(i));
    auto t0 = Clock::now();
    for (long n = 0; n < verify_entries; n += 10'000) {
      if (auto r = op->append_batch(drafts); !r) die(r.error().message());
    }
    std::printf("filled %ld entries in %.1f s\n", verify_entries, seconds_since(t0));
    std::vector<double> times;
    for (int r = 0; r < std::max(3, reps); ++r) {
      auto t1 = Clock::now();
      auto rep = s.verify_journal();
      times.push_back(seconds_since(t1));
      std::printf("sample verify=%.4f\n", times.back());
      if (!rep || rep->problem || rep->entries < static_cast<uint64_t>(verify_entries)) {
        die("verify did not pass on the bench journal");
      }
    }
    auto st = stats(times);
    std::printf("verify %ld entries: median %.2f s (min %.2f, max %.2f) = %.0f entries/s; "
                "data.mdb %.0f MiB\n",
                verify_entries, st.median, st.min, st.max, verify_entries / st.median,
                std::filesystem::file_size(s.dir() + "/data.mdb") / 1048576.0);
  }
  std::filesystem::remove_all(root);
  return 0;
}
