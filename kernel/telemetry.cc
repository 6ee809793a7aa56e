#include "kernel/telemetry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "base/syscall.h"

namespace cells::kernel {

namespace {

constexpr char kMagic[8] = {'C', 'E', 'L', 'L', 'S', 'N', 'A', 'P'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kHeaderSize = 64;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t slot_size;
  uint32_t header_size;
  char reserved[44];
};
static_assert(sizeof(Header) == kHeaderSize);

// Written by the sampler. seq_begin and seq_end bracket the data (see telemetry.h).
// Slot layout: the sample part at 0 (648 bytes), the denial part at 768, the supervision part
// at 896. The denial part sits in what was padding before it existed, so supervisors and
// readers of the first layout still work alongside it.
struct SampleHalf {
  uint64_t seq_begin;
  uint32_t cid;
  uint32_t cpu_ticks_1s;
  int64_t created_unix_ns;
  int64_t sampled_unix_ns;
  uint32_t cpu_ticks_10s_centi;  // average * 100, so the file holds no floating point
  uint32_t processes;
  uint32_t references;
  uint32_t pad;
  uint64_t vmsize_bytes;
  uint64_t rss_bytes;
  char name[SnapshotFile::kMaxName + 1];
  char root[SnapshotFile::kMaxRoot + 1];
  uint64_t seq_end;
};
constexpr uint32_t kSampleOffset = 0;
constexpr uint32_t kSupervisionOffset = 896;

// Written by the sampler, which as host root can read the policy's BPF counters.
struct DenialPart {
  uint64_t seq_begin;
  uint32_t cid;
  uint32_t pad;
  uint64_t denials[kDenialKindCount];
  uint64_t seq_end;
};
constexpr uint32_t kDenialOffset = 768;
static_assert(sizeof(SampleHalf) <= kDenialOffset);

// Written by the supervisor. Its denials were published here before the denial part existed;
// they are now zero, and a reader takes them only from a slot without a denial part.
struct SupervisionHalf {
  uint64_t seq_begin;
  uint32_t cid;
  uint32_t state;
  uint64_t restarts;
  int32_t supervisor_pid;
  uint32_t health;
  uint64_t denials[kDenialKindCount];
  uint64_t seq_end;
};
static_assert(kDenialOffset + sizeof(DenialPart) <= kSupervisionOffset);
static_assert(kSupervisionOffset + sizeof(SupervisionHalf) <= SnapshotFile::kSlotSize);

int64_t now_ns(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Sequence numbers only need to differ between consecutive writes of one half, also across
// writer restarts: the monotonic clock in ns does that without any shared state.
uint64_t next_seq() { return static_cast<uint64_t>(now_ns(CLOCK_MONOTONIC)) | 1; }

off_t slot_offset(uint32_t cid) {
  return off_t(kHeaderSize) + off_t(cid - 1) * SnapshotFile::kSlotSize;
}

void copy_cstr(char* dst, size_t cap, std::string_view src) {
  size_t n = std::min(src.size(), cap - 1);
  std::memcpy(dst, src.data(), n);
  dst[n] = '\0';
}

Status check_cid(uint32_t cid) {
  // A cap keeps a corrupt or hostile cid from making a sparse file of terabytes.
  if (cid == 0 || cid > 10'000'000) {
    return Error::invalid("telemetry slot: cid " + std::to_string(cid) + " out of range");
  }
  return ok_status();
}

Status pwrite_all(int fd, const void* buf, size_t n, off_t off, const std::string& what) {
  ssize_t w = CELLS_SYSCALL(::pwrite(fd, buf, n, off), what);
  if (size_t(w) != n) return Error(ErrorKind::kSystem, what + ": short write");
  return ok_status();
}

enum class Decoded { kEmpty, kOk, kTorn };

Decoded decode_slot(const char* p, uint32_t cid, CellStats* out) {
  SampleHalf s;
  DenialPart d;
  SupervisionHalf v;
  std::memcpy(&s, p + kSampleOffset, sizeof s);
  std::memcpy(&d, p + kDenialOffset, sizeof d);
  std::memcpy(&v, p + kSupervisionOffset, sizeof v);
  if (s.cid != cid && v.cid != cid) return Decoded::kEmpty;
  if ((s.cid == cid && s.seq_begin != s.seq_end) || (d.cid == cid && d.seq_begin != d.seq_end) ||
      (v.cid == cid && v.seq_begin != v.seq_end)) {
    return Decoded::kTorn;
  }
  // Only sampled cells are listed: a supervision half alone has no name to show.
  if (s.cid != cid) return Decoded::kEmpty;
  s.name[sizeof s.name - 1] = '\0';
  s.root[sizeof s.root - 1] = '\0';
  out->cid = cid;
  out->name = s.name;
  out->root = s.root;
  out->created_unix_ns = s.created_unix_ns;
  out->sampled_unix_ns = s.sampled_unix_ns;
  out->cpu_ticks_1s = s.cpu_ticks_1s;
  out->cpu_ticks_10s_avg = s.cpu_ticks_10s_centi / 100.0;
  out->processes = s.processes;
  out->references = s.references;
  out->vmsize_bytes = s.vmsize_bytes;
  out->rss_bytes = s.rss_bytes;
  if (v.cid == cid) {
    out->state = v.state <= uint32_t(SuperviseState::kStopped) ? SuperviseState(v.state)
                                                               : SuperviseState::kNone;
    out->health = v.health <= uint32_t(Health::kDown) ? Health(v.health) : Health::kUnknown;
    out->restarts = v.restarts;
    out->supervisor_pid = v.supervisor_pid;
    std::copy(std::begin(v.denials), std::end(v.denials), out->denials);
  }
  if (d.cid == cid) std::copy(std::begin(d.denials), std::end(d.denials), out->denials);
  return Decoded::kOk;
}

Status check_header(std::string_view image, const std::string& what) {
  Header h;
  if (image.size() < sizeof h) return Error(ErrorKind::kCorrupt, what + ": truncated header");
  std::memcpy(&h, image.data(), sizeof h);
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    return Error(ErrorKind::kCorrupt, what + ": not a cells telemetry snapshot (bad magic)");
  }
  if (h.version != kVersion || h.slot_size != SnapshotFile::kSlotSize ||
      h.header_size != kHeaderSize) {
    return Error(ErrorKind::kUnsupported,
                 what + ": snapshot version " + std::to_string(h.version) + " is not supported");
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(SuperviseState s) {
  switch (s) {
    case SuperviseState::kNone: return "-";
    case SuperviseState::kRunning: return "running";
    case SuperviseState::kBackoff: return "backoff";
    case SuperviseState::kFailed: return "failed";
    case SuperviseState::kStopped: return "stopped";
  }
  return "-";
}

std::string_view to_string(Health h) {
  switch (h) {
    case Health::kUnknown: return "unknown";
    case Health::kUp: return "up";
    case Health::kDown: return "down";
  }
  return "unknown";
}

int64_t CellStats::age_seconds(int64_t now_unix_ns) const {
  if (created_unix_ns <= 0 || now_unix_ns < created_unix_ns) return 0;
  return (now_unix_ns - created_unix_ns) / 1000000000;
}

std::string SnapshotFile::path(const Paths& paths) {
  return paths.run_dir() + "/telemetry/cells.slots";
}

Result<SnapshotFile> SnapshotFile::open_rw(const Paths& paths) {
  std::string p = path(paths);
  CELLS_TRY(make_dirs(paths.run_dir() + "/telemetry", 0755));
  Fd fd = CELLS_SYSCALL_FD(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644), "open " + p);
  Header h{};
  ssize_t n = CELLS_SYSCALL(::pread(fd.get(), &h, sizeof h, 0), "read " + p);
  if (n == 0) {
    // Concurrent creators write identical bytes, so this needs no lock.
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.version = kVersion;
    h.slot_size = kSlotSize;
    h.header_size = kHeaderSize;
    CELLS_TRY(pwrite_all(fd.get(), &h, sizeof h, 0, "write header of " + p));
  } else {
    CELLS_TRY(check_header(std::string_view(reinterpret_cast<char*>(&h), size_t(n)), p));
  }
  return SnapshotFile(std::move(fd));
}

Status SnapshotFile::publish_identity(uint32_t cid, std::string_view name, std::string_view root,
                                      int64_t created_unix_ns) {
  CellStats st;
  st.cid = cid;
  st.name = std::string(name);
  st.root = std::string(root);
  st.created_unix_ns = created_unix_ns;
  // A cid is never reused, but a slot may hold leftovers of a crashed create: start clean.
  CELLS_TRY(clear(cid));
  return write_sample(st);
}

Status SnapshotFile::write_sample(const CellStats& st) {
  CELLS_TRY(check_cid(st.cid));
  SampleHalf s{};
  s.cid = st.cid;
  s.cpu_ticks_1s = st.cpu_ticks_1s;
  s.created_unix_ns = st.created_unix_ns;
  s.sampled_unix_ns = st.sampled_unix_ns;
  s.cpu_ticks_10s_centi = static_cast<uint32_t>(st.cpu_ticks_10s_avg * 100.0 + 0.5);
  s.processes = st.processes;
  s.references = st.references;
  s.vmsize_bytes = st.vmsize_bytes;
  s.rss_bytes = st.rss_bytes;
  copy_cstr(s.name, sizeof s.name, st.name);
  copy_cstr(s.root, sizeof s.root, st.root);
  s.seq_begin = s.seq_end = next_seq();
  return pwrite_all(fd_.get(), &s, sizeof s, slot_offset(st.cid) + kSampleOffset,
                    "write telemetry sample of cid " + std::to_string(st.cid));
}

Status SnapshotFile::write_denials(const CellStats& st) {
  CELLS_TRY(check_cid(st.cid));
  DenialPart d{};
  d.cid = st.cid;
  std::copy(std::begin(st.denials), std::end(st.denials), d.denials);
  d.seq_begin = d.seq_end = next_seq();
  return pwrite_all(fd_.get(), &d, sizeof d, slot_offset(st.cid) + kDenialOffset,
                    "write denial counters of cid " + std::to_string(st.cid));
}

Status SnapshotFile::write_supervision(uint32_t cid, SuperviseState state, uint64_t restarts,
                                       pid_t supervisor_pid, Health health) {
  CELLS_TRY(check_cid(cid));
  SupervisionHalf v{};
  v.cid = cid;
  v.state = uint32_t(state);
  v.restarts = restarts;
  v.supervisor_pid = supervisor_pid;
  v.health = uint32_t(health);
  v.seq_begin = v.seq_end = next_seq();
  return pwrite_all(fd_.get(), &v, sizeof v, slot_offset(cid) + kSupervisionOffset,
                    "write supervision state of cid " + std::to_string(cid));
}

Status SnapshotFile::clear(uint32_t cid) {
  CELLS_TRY(check_cid(cid));
  char zero[kSlotSize] = {};
  return pwrite_all(fd_.get(), zero, sizeof zero, slot_offset(cid),
                    "clear telemetry slot of cid " + std::to_string(cid));
}

Result<std::vector<CellStats>> SnapshotFile::decode(std::string_view image) {
  CELLS_TRY(check_header(image, "telemetry snapshot"));
  std::vector<CellStats> out;
  size_t body = image.size() - kHeaderSize;
  size_t slots = (body + kSlotSize - 1) / kSlotSize;
  for (size_t i = 0; i < slots; ++i) {
    // The last slot may be short: writers extend the file only as far as the half they write.
    // Only that one is copied out, zero-padded; the others are decoded where they lie.
    const char* slot = image.data() + kHeaderSize + i * kSlotSize;
    char padded[kSlotSize];
    if (size_t have = body - i * kSlotSize; have < kSlotSize) {
      std::memset(padded, 0, sizeof padded);
      std::memcpy(padded, slot, have);
      slot = padded;
    }
    CellStats st;
    Decoded d = decode_slot(slot, uint32_t(i + 1), &st);
    if (d == Decoded::kTorn) {
      return Error(ErrorKind::kBusy, "telemetry slot " + std::to_string(i + 1) +
                                         " was being written");
    }
    if (d == Decoded::kOk) out.push_back(std::move(st));
  }
  return out;
}

Result<std::vector<CellStats>> SnapshotFile::read_all(const Paths& paths) {
  std::string p = path(paths);
  int raw = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0 && errno == ENOENT) return std::vector<CellStats>{};
  if (raw < 0) return Error::sys(errno, "open " + p);
  auto all = SnapshotFile(Fd(raw)).read_all();
  if (!all) return std::move(all).error().wrap(p);
  return all;
}

Result<std::vector<CellStats>> SnapshotFile::read_all() const {
  // The file is mapped, not read: at 1,000 cells it is 1 MiB, and a copy costs a zeroed buffer,
  // its page faults and the copy itself, most of `cellctl stats` on a VM where faults are dear.
  // MAP_POPULATE maps every page-cache page in the one call. The file only ever grows (writers
  // extend it; reset unlinks it, which leaves the mapping valid), so no page of the mapping
  // can go past its end while it is read.
  struct stat sb;
  CELLS_SYSCALL(::fstat(fd_.get(), &sb), "stat telemetry snapshot");
  const size_t size = size_t(sb.st_size);
  if (size == 0) return decode({});
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd_.get(), 0);
  if (map == MAP_FAILED) return Error::sys(errno, "map telemetry snapshot");
  const std::string_view image(static_cast<const char*>(map), size);
  // A slot caught mid-write is rare (writes are one small pwrite each, seen through the shared
  // mapping as they land); decoding again keeps the reader simple and the result consistent.
  Result<std::vector<CellStats>> r = decode(image);
  for (int attempt = 1; attempt < 8 && !r.ok() && r.error().kind() == ErrorKind::kBusy; ++attempt) {
    r = decode(image);
  }
  ::munmap(map, size);
  if (!r.ok() && r.error().kind() == ErrorKind::kBusy) {
    return Error(ErrorKind::kBusy, "telemetry snapshot: slots kept changing while being read");
  }
  return r;
}

CellSampler::CellSampler(std::optional<SnapshotFile> file, Fd cgroup_dir, Fd cpu_stat,
                         Fd proc_dir, Identity id)
    : file_(std::move(file)), cgroup_dir_(std::move(cgroup_dir)), cpu_stat_(std::move(cpu_stat)),
      proc_dir_(std::move(proc_dir)) {
  stats_.cid = id.cid;
  stats_.name = std::move(id.name);
  stats_.root = std::move(id.root);
  stats_.created_unix_ns = id.created_unix_ns;
}

Result<CellSampler> CellSampler::open(const Paths& paths, int cgroup_dir_fd, int proc_dir_fd,
                                      Identity id) {
  CELLS_TRY(check_cid(id.cid));
  SnapshotFile file = CELLS_TRY(SnapshotFile::open_rw(paths));
  CellSampler s = CELLS_TRY(open_unpublished(cgroup_dir_fd, proc_dir_fd, std::move(id)));
  s.file_.emplace(std::move(file));
  return s;
}

Result<CellSampler> CellSampler::open_unpublished(int cgroup_dir_fd, int proc_dir_fd,
                                                  Identity id) {
  CELLS_TRY(check_cid(id.cid));
  // cpu.stat exists in every cgroup v2 directory even with no controller enabled (this host's
  // hybrid layout), and usage_usec never goes back when a process exits.
  Fd cg = CELLS_SYSCALL_FD(::openat(cgroup_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                           "open cgroup of cell " + id.name);
  Fd cpu = CELLS_SYSCALL_FD(::openat(cgroup_dir_fd, "cpu.stat", O_RDONLY | O_CLOEXEC),
                            "open cpu.stat of cell " + id.name);
  Fd proc = CELLS_SYSCALL_FD(::openat(proc_dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                             "open proc dir of cell " + id.name);
  return CellSampler(std::nullopt, std::move(cg), std::move(cpu), std::move(proc), std::move(id));
}

Result<uint64_t> CellSampler::read_usage_usec() {
  char buf[512];
  ssize_t n = CELLS_SYSCALL(::pread(cpu_stat_.get(), buf, sizeof buf - 1, 0), "read cpu.stat");
  buf[n] = '\0';
  const char* p = std::strstr(buf, "usage_usec ");
  if (p == nullptr) return Error(ErrorKind::kUnsupported, "cpu.stat has no usage_usec");
  return std::strtoull(p + 11, nullptr, 10);
}

Status CellSampler::walk_processes() {
  // The directory fd is duplicated because readdir state is per open file description and
  // closedir() closes the fd it was given.
  int dup_fd = CELLS_SYSCALL(::fcntl(proc_dir_.get(), F_DUPFD_CLOEXEC, 0), "dup proc dir");
  DIR* dir = ::fdopendir(dup_fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return Error::sys(err, "fdopendir proc");
  }
  ::rewinddir(dir);
  static const long kPage = ::sysconf(_SC_PAGESIZE);
  uint32_t procs = 0, refs = 0;
  uint64_t vm = 0, rss = 0;
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[sizeof e->d_name + 8];
    std::snprintf(path, sizeof path, "%s/stat", e->d_name);
    int fd = ::openat(proc_dir_.get(), path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // exited since readdir
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) continue;
    char state = p[2];
    ++refs;
    if (state == 'Z' || state == 'X') continue;
    ++procs;
    // Fields 4 (ppid) .. 22 (starttime) come after the state, then 23 vsize and 24 rss in
    // pages; q starts on the blank before field 4, so 20 blanks lead to field 23.
    const char* q = p + 3;
    for (int skip = 0; skip < 20 && q; ++skip) {
      q = std::strchr(q, ' ');
      if (q) ++q;
    }
    if (q == nullptr) continue;
    char* end = nullptr;
    vm += std::strtoull(q, &end, 10);
    rss += std::strtoull(end, nullptr, 10) * uint64_t(kPage);
  }
  ::closedir(dir);
  stats_.processes = procs;
  stats_.references = refs;
  stats_.vmsize_bytes = vm;
  stats_.rss_bytes = rss;
  return ok_status();
}

bool CellSampler::still_exists() const {
  // A removed cgroup directory answers every lookup below it with ENOENT.
  return ::faccessat(cgroup_dir_.get(), "cpu.stat", F_OK, 0) == 0;
}

Status CellSampler::tick() {
  if (!file_) return Error::invalid("telemetry: sampler of cid " + std::to_string(stats_.cid) +
                                    " has no snapshot file to publish to");
  CELLS_TRY(sample());
  return file_->write_sample(stats_);
}

Status CellSampler::sample() {
  uint64_t usage = CELLS_TRY(read_usage_usec());
  if (have_baseline_) {
    // Ticks are whole 1/100 s; the remainder is carried so no CPU time is lost to rounding.
    uint64_t delta = usage - last_usage_usec_ + usage_remainder_usec_;
    stats_.cpu_ticks_1s = uint32_t(delta / 10000);
    usage_remainder_usec_ = delta % 10000;
    ring_[ring_pos_] = stats_.cpu_ticks_1s;
    ring_pos_ = (ring_pos_ + 1) % 10;
    ring_len_ = std::min<uint32_t>(ring_len_ + 1, 10);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < ring_len_; ++i) sum += ring_[i];
    stats_.cpu_ticks_10s_avg = double(sum) / ring_len_;
  }
  have_baseline_ = true;
  last_usage_usec_ = usage;
  CELLS_TRY(walk_processes());
  stats_.sampled_unix_ns = now_ns(CLOCK_REALTIME);
  return ok_status();
}

}  // namespace cells::kernel
