#include "kernel/bpf_policy.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/syscall.h"
#include "cells.skel.h"
#include "kernel/bpf/cells_maps.h"

namespace cells::kernel {

namespace {

constexpr const char* kCgroup2Root = "/sys/fs/cgroup/unified";
constexpr const char* kBpffsMount = "/sys/fs/bpf";

// Pin names inside Paths::bpf_pin_dir(). Maps hold the state; links hold the attachments, so
// unlinking a link pin (with no other fd open) detaches that program.
constexpr std::array<const char*, 3> kMapPins = {"map_cells", "map_ports", "map_denials"};
constexpr std::array<const char*, 5> kLinkPins = {"link_bind4", "link_bind6", "link_sysctl",
                                                  "link_dev", "link_sock_create"};

// --- RAII for libbpf objects ---------------------------------------------------------------

struct SkeletonDeleter {
  void operator()(cells_bpf* s) const { cells_bpf__destroy(s); }
};
using Skeleton = std::unique_ptr<cells_bpf, SkeletonDeleter>;

// Destroying a bpf_link closes its fd; a pinned link stays attached through its pin.
struct LinkDeleter {
  void operator()(bpf_link* l) const { bpf_link__destroy(l); }
};
using Link = std::unique_ptr<bpf_link, LinkDeleter>;

// libbpf reports details (verifier messages, relocation failures) only through its print
// callback, which is process-global. While a capture is alive, warnings go into a buffer so
// that the Error can carry them instead of them landing on stderr.
thread_local std::string* g_libbpf_log = nullptr;

int capture_libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG || g_libbpf_log == nullptr) return 0;
  char buf[512];
  int n = std::vsnprintf(buf, sizeof buf, fmt, args);
  if (n > 0 && g_libbpf_log->size() < 16384) g_libbpf_log->append(buf);
  return 0;
}

class LibbpfLogCapture {
 public:
  LibbpfLogCapture() : previous_(libbpf_set_print(capture_libbpf_print)) { g_libbpf_log = &log_; }
  ~LibbpfLogCapture() {
    g_libbpf_log = nullptr;
    libbpf_set_print(previous_);
  }
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  // The last non-empty line libbpf printed: usually the one that names the failure.
  std::string last_line() const {
    size_t end = log_.find_last_not_of("\n ");
    if (end == std::string::npos) return "";
    size_t start = log_.rfind('\n', end);
    start = start == std::string::npos ? 0 : start + 1;
    return log_.substr(start, end - start + 1);
  }
  Error with_log(Error e) const {
    std::string line = last_line();
    return line.empty() ? std::move(e) : Error(e.kind(), e.message() + " (libbpf: " + line + ")",
                                               e.sys_errno());
  }

 private:
  libbpf_print_fn_t previous_;
  std::string log_;
};

// --- locking --------------------------------------------------------------------------------

// An exclusive flock, released when the fd closes.
Result<Fd> lock_file(const std::string& path, int open_flags) {
  Fd fd = CELLS_SYSCALL_FD(open(path.c_str(), open_flags | O_CLOEXEC, 0600), "open " + path);
  CELLS_SYSCALL(flock(fd.get(), LOCK_EX), "lock " + path);
  return fd;
}

std::string instance_lock_path(const Paths& paths) { return paths.run_dir() + "/bpf.lock"; }

// Serialises loading, unloading and (un)registration within one instance. bpffs cannot hold
// regular files, so the lock lives in the instance's run directory.
Result<Fd> lock_instance(const Paths& paths) {
  CELLS_TRY(make_dirs(paths.run_dir(), 0755));
  return lock_file(instance_lock_path(paths), O_RDWR | O_CREAT);
}

bool is_bpffs(const char* path) {
  struct statfs st {};
  return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

// Mounts bpffs on /sys/fs/bpf unless it is there already. The check and the mount happen
// under a lock on /sys/fs (a sysfs directory that nothing mounts over), shared by every
// instance: two loaders racing would otherwise stack two bpffs mounts, and pins made on the
// lower one would become invisible.
Status ensure_bpffs_mounted() {
  Fd lock = CELLS_TRY(lock_file("/sys/fs", O_RDONLY | O_DIRECTORY));
  if (is_bpffs(kBpffsMount)) return ok_status();
  CELLS_SYSCALL(mount("bpf", kBpffsMount, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700"),
                std::string("mount bpffs on ") + kBpffsMount);
  return ok_status();
}

// --- pins -----------------------------------------------------------------------------------

std::string pin_path(const Paths& paths, const char* name) {
  return paths.bpf_pin_dir() + "/" + name;
}

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Removes every pin of the instance and its directory. Missing pins are fine (idempotent).
// Each link is detached explicitly before its pin goes: dropping the last reference only
// queues the detach on a kernel workqueue, so enforcement would linger for a moment after
// unload returned.
Status remove_pins(const Paths& paths) {
  for (const char* name : kLinkPins) {
    std::string p = pin_path(paths, name);
    int fd = bpf_obj_get(p.c_str());
    if (fd < 0 && fd != -ENOENT) return from_libbpf(fd, "open pinned " + p);
    if (fd >= 0) {
      Fd link(fd);
      if (int rc = bpf_link_detach(link.get()); rc != 0) {
        return from_libbpf(rc, "detach " + p);
      }
    }
    if (unlink(p.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unpin " + p);
  }
  for (const char* name : kMapPins) {
    std::string p = pin_path(paths, name);
    if (unlink(p.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unpin " + p);
  }
  std::string dir = paths.bpf_pin_dir();
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "rmdir " + dir);
  return ok_status();
}

// Removes the pins on every exit path of a load that did not finish.
class PinRollback {
 public:
  explicit PinRollback(const Paths& paths) : paths_(paths) {}
  ~PinRollback() {
    if (armed_) (void)remove_pins(paths_);
  }
  PinRollback(const PinRollback&) = delete;
  PinRollback& operator=(const PinRollback&) = delete;
  void dismiss() { armed_ = false; }

 private:
  const Paths& paths_;
  bool armed_ = true;
};

Result<Fd> open_pin(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return from_libbpf(fd, "open pinned " + path);
  return Fd(fd);
}

}  // namespace

struct BpfPolicy::Maps {
  Fd cells;
  Fd ports;
  Fd denials;
  std::string lock_path;
};

namespace {

// Loads the programs, pins the maps, then attaches and pins the links. Ordering: the maps are
// pinned before any program is attached, and each link is pinned right after its attach, so
// that a failure at any step is undone by PinRollback plus the Link destructors (an unpinned
// link is detached when its last fd closes) and leaves nothing enforcing.
Status load_and_pin(const Paths& paths) {
  const uint32_t level = CELLS_TRY(cell_cgroup_level(paths));
  LibbpfLogCapture log;

  // Step 1: open the embedded object and fix the cell level in .rodata; it is frozen at load,
  // which lets the verifier treat it as a constant.
  Skeleton skel(cells_bpf__open());
  if (!skel) return log.with_log(from_libbpf(-errno, "open BPF object cells_bpf"));
  skel->rodata->cell_level = level;

  // Step 2: create the maps and verify the programs.
  if (int rc = cells_bpf__load(skel.get()); rc != 0) {
    return log.with_log(from_libbpf(rc, "load BPF programs"));
  }

  // Step 3: pin the maps so that registrations outlive this process.
  CELLS_SYSCALL(mkdir(paths.bpf_pin_dir().c_str(), 0700), "mkdir " + paths.bpf_pin_dir());
  PinRollback rollback(paths);
  std::array<bpf_map*, 3> maps = {skel->maps.cells, skel->maps.ports, skel->maps.denials};
  for (size_t i = 0; i < maps.size(); ++i) {
    std::string p = pin_path(paths, kMapPins[i]);
    if (int rc = bpf_map__pin(maps[i], p.c_str()); rc != 0) {
      return log.with_log(from_libbpf(rc, "pin map " + p));
    }
  }

  // Step 4: attach to the cgroup2 root (links are always multi-attach, so other instances'
  // programs and other users' programs keep running alongside) and pin each link.
  Fd root = CELLS_SYSCALL_FD(open(kCgroup2Root, O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                             std::string("open ") + kCgroup2Root);
  std::array<bpf_program*, 5> progs = {skel->progs.cells_bind4, skel->progs.cells_bind6,
                                       skel->progs.cells_sysctl, skel->progs.cells_dev,
                                       skel->progs.cells_sock_create};
  std::vector<Link> links;
  for (size_t i = 0; i < progs.size(); ++i) {
    Link link(bpf_program__attach_cgroup(progs[i], root.get()));
    if (!link) {
      return log.with_log(from_libbpf(-errno, std::string("attach ") +
                                                  bpf_program__name(progs[i]) + " to " +
                                                  kCgroup2Root));
    }
    std::string p = pin_path(paths, kLinkPins[i]);
    if (int rc = bpf_link__pin(link.get(), p.c_str()); rc != 0) {
      (void)bpf_link__detach(link.get());  // see remove_pins: closing alone detaches late
      return log.with_log(from_libbpf(rc, "pin link " + p));
    }
    links.push_back(std::move(link));
  }
  rollback.dismiss();
  return ok_status();
}

bool all_pins_present(const Paths& paths) {
  for (const char* name : kMapPins) {
    if (!exists(pin_path(paths, name))) return false;
  }
  for (const char* name : kLinkPins) {
    if (!exists(pin_path(paths, name))) return false;
  }
  return true;
}

Status check_registration(uint64_t cgroup_id, uint32_t cid, Profile profile,
                          std::span<const uint16_t> ports) {
  if (cgroup_id == 0) return Error::invalid("cgroup id 0 does not name a cgroup");
  if (cid == 0) return Error::invalid("cid 0 is reserved for host processes");
  if (profile != Profile::kLow && profile != Profile::kMedium && profile != Profile::kHigh) {
    return Error::invalid("profile " + std::to_string(static_cast<int>(profile)) +
                          " is not low, medium or high");
  }
  if (ports.size() > kMaxPortsPerCell) {
    return Error::invalid(std::to_string(ports.size()) + " reserved ports exceed the limit of " +
                          std::to_string(kMaxPortsPerCell));
  }
  std::set<uint16_t> seen;
  for (uint16_t port : ports) {
    if (port == 0) return Error::invalid("port 0 cannot be reserved");
    if (!seen.insert(port).second) {
      return Error::invalid("port " + std::to_string(port) + " is listed twice");
    }
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(DenialKind k) {
  switch (k) {
    case DenialKind::kBind: return "bind";
    case DenialKind::kSysctl: return "sysctl";
    case DenialKind::kDevice: return "device";
    case DenialKind::kSocket: return "socket";
  }
  return "unknown";
}

Error from_libbpf(int rc, std::string_view op) {
  // A non-negative rc is a libbpf contract violation; report it rather than inventing errno 0.
  if (rc >= 0) {
    return Error(ErrorKind::kSystem,
                 std::string(op) + ": libbpf failed with result " + std::to_string(rc));
  }
  return Error::sys(-rc, op);
}

Result<uint32_t> cell_cgroup_level(const Paths& paths) {
  const std::string parent = paths.cgroup_parent();
  const std::string prefix = std::string(kCgroup2Root) + "/";
  if (parent.compare(0, prefix.size(), prefix) != 0) {
    return Error::invalid("cgroup parent " + parent + " is not below " + kCgroup2Root);
  }
  uint32_t depth = 0;
  bool in_component = false;
  for (size_t i = prefix.size(); i < parent.size(); ++i) {
    if (parent[i] == '/') {
      in_component = false;
    } else if (!in_component) {
      in_component = true;
      ++depth;
    }
  }
  if (depth == 0) return Error::invalid("cgroup parent " + parent + " is the cgroup2 root");
  return depth + 1;
}

BpfPolicy::BpfPolicy() : maps_(nullptr) {}
BpfPolicy::BpfPolicy(BpfPolicy&& other) noexcept : maps_(std::exchange(other.maps_, nullptr)) {}
BpfPolicy& BpfPolicy::operator=(BpfPolicy&& other) noexcept {
  if (this != &other) {
    delete maps_;
    maps_ = std::exchange(other.maps_, nullptr);
  }
  return *this;
}
BpfPolicy::~BpfPolicy() { delete maps_; }

Result<BpfPolicy> BpfPolicy::ensure_loaded(const Paths& paths) {
  const std::string ctx = "load cgroup-BPF policy of instance " + paths.instance();
  CELLS_TRY_CTX(ensure_bpffs_mounted(), ctx);
  Fd lock = CELLS_TRY_CTX(lock_instance(paths), ctx);
  if (!all_pins_present(paths)) {
    // A partial set is what a loader that died mid-load leaves; no cell can depend on it
    // (registration needs the map pins and a finished load), so start again from nothing.
    CELLS_TRY_CTX(remove_pins(paths), ctx);
    CELLS_TRY_CTX(load_and_pin(paths), ctx);
  }
  auto maps = std::make_unique<Maps>();
  maps->cells = CELLS_TRY_CTX(open_pin(pin_path(paths, kMapPins[0])), ctx);
  maps->ports = CELLS_TRY_CTX(open_pin(pin_path(paths, kMapPins[1])), ctx);
  maps->denials = CELLS_TRY_CTX(open_pin(pin_path(paths, kMapPins[2])), ctx);
  maps->lock_path = instance_lock_path(paths);
  BpfPolicy policy;
  policy.maps_ = maps.release();
  return policy;
}

namespace {

// BPF_OBJ_GET and BPF_MAP_LOOKUP_ELEM without libbpf, for the read-only paths (open_loaded,
// denials): libbpf's objects are not split per function, so one call into it brings its whole
// loader (and libelf, zlib) into cells-supervise. Negative errno on failure, as libbpf.
int raw_obj_get(const std::string& path) {
  union bpf_attr attr {};
  attr.pathname = reinterpret_cast<uint64_t>(path.c_str());
  long fd = ::syscall(__NR_bpf, BPF_OBJ_GET, &attr, sizeof attr);
  return fd < 0 ? -errno : static_cast<int>(fd);
}
int raw_map_lookup(int map_fd, const void* key, void* value) {
  union bpf_attr attr {};
  attr.map_fd = static_cast<uint32_t>(map_fd);
  attr.key = reinterpret_cast<uint64_t>(key);
  attr.value = reinterpret_cast<uint64_t>(value);
  return ::syscall(__NR_bpf, BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr) == 0 ? 0 : -errno;
}
Result<Fd> open_pin_raw(const std::string& path) {
  int fd = raw_obj_get(path);
  if (fd < 0) return from_libbpf(fd, "open pinned " + path);
  return Fd(fd);
}

}  // namespace

Result<BpfPolicy> BpfPolicy::open_loaded(const Paths& paths) {
  const std::string ctx = "open cgroup-BPF policy of instance " + paths.instance();
  auto maps = std::make_unique<Maps>();
  maps->cells = CELLS_TRY_CTX(open_pin_raw(pin_path(paths, kMapPins[0])), ctx);
  maps->ports = CELLS_TRY_CTX(open_pin_raw(pin_path(paths, kMapPins[1])), ctx);
  maps->denials = CELLS_TRY_CTX(open_pin_raw(pin_path(paths, kMapPins[2])), ctx);
  maps->lock_path = instance_lock_path(paths);
  BpfPolicy policy;
  policy.maps_ = maps.release();
  return policy;
}

Status BpfPolicy::unload(const Paths& paths) {
  const std::string ctx = "unload cgroup-BPF policy of instance " + paths.instance();
  // Without bpffs there can be no pins; do not mount it just to find nothing.
  if (!is_bpffs(kBpffsMount)) return ok_status();
  Fd lock = CELLS_TRY_CTX(lock_instance(paths), ctx);
  CELLS_TRY_CTX(remove_pins(paths), ctx);
  return ok_status();
}

namespace {

// True if some cgroup in the cells map is registered as CID.
bool cid_registered(int cells_map, uint32_t cid) {
  uint64_t key = 0, next = 0;
  uint64_t* prev = nullptr;
  while (bpf_map_get_next_key(cells_map, prev, &next) == 0) {
    cell_entry e{};
    if (bpf_map_lookup_elem(cells_map, &next, &e) == 0 && e.cid == cid) return true;
    key = next;
    prev = &key;
  }
  return false;
}

}  // namespace

Status BpfPolicy::forget_cgroup(uint64_t cgroup_id) {
  if (maps_ == nullptr) return Error::invalid("forget cgroup: BPF policy was moved from");
  cell_entry e{};
  if (bpf_map_lookup_elem(maps_->cells.get(), &cgroup_id, &e) != 0) return ok_status();
  return unregister_cell(cgroup_id, e.cid);
}

Status BpfPolicy::register_cell(uint64_t cgroup_id, uint32_t cid, Profile profile,
                                std::span<const uint16_t> ports) {
  const std::string ctx = "register cell " + std::to_string(cid);
  CELLS_TRY_CTX(check_registration(cgroup_id, cid, profile, ports), ctx);
  if (maps_ == nullptr) return Error::invalid(ctx + ": BPF policy was moved from");
  Fd lock = CELLS_TRY_CTX(lock_file(maps_->lock_path, O_RDWR | O_CREAT), ctx);

  cell_entry existing{};
  if (bpf_map_lookup_elem(maps_->cells.get(), &cgroup_id, &existing) == 0) {
    return Error(ErrorKind::kExists, ctx + ": cgroup id " + std::to_string(cgroup_id) +
                                         " is already registered as cell " +
                                         std::to_string(existing.cid));
  }

  // Reserve the ports one by one with BPF_NOEXIST (the kernel refuses a port someone holds)
  // and give back exactly the ones this call took if any later step fails.
  std::vector<uint16_t> taken;
  auto roll_back = [&] {
    for (uint16_t p : taken) bpf_map_delete_elem(maps_->ports.get(), &p);
  };
  for (uint16_t port : ports) {
    int rc = bpf_map_update_elem(maps_->ports.get(), &port, &cid, BPF_NOEXIST);
    if (rc == 0) {
      taken.push_back(port);
      continue;
    }
    uint32_t owner = 0;
    if (rc == -EEXIST && bpf_map_lookup_elem(maps_->ports.get(), &port, &owner) == 0) {
      // Left over by an earlier registration of this very cid that did not finish.
      if (owner == cid) continue;
      // Left over by a registration killed before its cell entry (registrations hold the lock
      // from first port to cell entry, so an owner without one is dead; found by
      // tools/crashtest apply): the port is free.
      if (!cid_registered(maps_->cells.get(), owner) &&
          bpf_map_update_elem(maps_->ports.get(), &port, &cid, BPF_EXIST) == 0) {
        taken.push_back(port);
        continue;
      }
      roll_back();
      return Error(ErrorKind::kExists, ctx + ": port " + std::to_string(port) +
                                           " is reserved by cell " + std::to_string(owner));
    }
    roll_back();
    return from_libbpf(rc, "reserve port " + std::to_string(port)).wrap(ctx);
  }

  cell_entry entry{cid, static_cast<uint32_t>(profile)};
  if (int rc = bpf_map_update_elem(maps_->cells.get(), &cgroup_id, &entry, BPF_NOEXIST);
      rc != 0) {
    roll_back();
    return from_libbpf(rc, "record cgroup " + std::to_string(cgroup_id)).wrap(ctx);
  }
  return ok_status();
}

Status BpfPolicy::unregister_cell(uint64_t cgroup_id, uint32_t cid) {
  const std::string ctx = "unregister cell " + std::to_string(cid);
  if (cid == 0) return Error::invalid(ctx + ": cid 0 is reserved for host processes");
  if (maps_ == nullptr) return Error::invalid(ctx + ": BPF policy was moved from");
  Fd lock = CELLS_TRY_CTX(lock_file(maps_->lock_path, O_RDWR | O_CREAT), ctx);

  cell_entry existing{};
  if (bpf_map_lookup_elem(maps_->cells.get(), &cgroup_id, &existing) == 0) {
    if (existing.cid != cid) {
      return Error::invalid(ctx + ": cgroup id " + std::to_string(cgroup_id) +
                            " belongs to cell " + std::to_string(existing.cid));
    }
    if (int rc = bpf_map_delete_elem(maps_->cells.get(), &cgroup_id); rc != 0 && rc != -ENOENT) {
      return from_libbpf(rc, "forget cgroup " + std::to_string(cgroup_id)).wrap(ctx);
    }
  }

  // Collect first, delete after: deleting while walking with get_next_key can restart the walk.
  std::vector<uint16_t> owned;
  uint16_t key = 0;
  uint16_t* prev = nullptr;
  uint16_t next = 0;
  while (bpf_map_get_next_key(maps_->ports.get(), prev, &next) == 0) {
    uint32_t owner = 0;
    if (bpf_map_lookup_elem(maps_->ports.get(), &next, &owner) == 0 && owner == cid) {
      owned.push_back(next);
    }
    key = next;
    prev = &key;
  }
  for (uint16_t port : owned) {
    if (int rc = bpf_map_delete_elem(maps_->ports.get(), &port); rc != 0 && rc != -ENOENT) {
      return from_libbpf(rc, "release port " + std::to_string(port)).wrap(ctx);
    }
  }
  // The counters go with the cell: cids are never reused, and the map is bounded.
  for (uint32_t kind = 0; kind < kDenialKinds; ++kind) {
    denial_key dk{cid, kind};
    bpf_map_delete_elem(maps_->denials.get(), &dk);
  }
  return ok_status();
}

Result<uint32_t> BpfPolicy::port_owner(uint16_t port) const {
  if (maps_ == nullptr) return Error::invalid("port owner: BPF policy was moved from");
  uint32_t owner = 0;
  int rc = bpf_map_lookup_elem(maps_->ports.get(), &port, &owner);
  if (rc == -ENOENT) return 0u;
  if (rc != 0) return from_libbpf(rc, "look up port " + std::to_string(port));
  return owner;
}

Result<DenialCounts> BpfPolicy::denials(uint32_t cid) const {
  if (maps_ == nullptr) return Error::invalid("denials: BPF policy was moved from");
  DenialCounts counts;
  for (uint32_t kind = 0; kind < kDenialKinds; ++kind) {
    denial_key key{cid, kind};
    uint64_t value = 0;
    int rc = raw_map_lookup(maps_->denials.get(), &key, &value);
    if (rc == -ENOENT) continue;
    if (rc != 0) {
      return from_libbpf(rc, "read denials of cell " + std::to_string(cid) + " kind " +
                                 std::string(to_string(static_cast<DenialKind>(kind))));
    }
    counts.by_kind[kind] = value;
  }
  return counts;
}

}  // namespace cells::kernel
