#include "engine/mount_table.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/fd.h"
#include "base/syscall.h"
#include "base/text.h"

namespace cells::engine {
namespace {

// The cached table, for the process that first used it. A forked child reads afresh: its
// copy may have been taken mid-update (or with the lock held), and a poll on the shared open
// file would consume the change event the parent relies on. The namespace inode catches a
// setns/unshare since the open (the file keeps showing the namespace it was opened in).
struct Cache {
  std::atomic<pid_t> owner{0};
  std::mutex mu;
  Fd fd;
  ino_t ns = 0;
  std::vector<std::string> points;
  uint64_t reads = 0;
};

Cache& cache() {
  static Cache* c = new Cache;  // never destroyed: callers may run during static teardown
  return *c;
}

Result<ino_t> mount_ns() {
  struct stat st;
  CELLS_SYSCALL(::stat("/proc/self/ns/mnt", &st), "stat /proc/self/ns/mnt");
  return st.st_ino;
}

Result<Fd> open_mountinfo() {
  // Opening records the namespace's event count; a read after it can only be as new.
  int fd = CELLS_SYSCALL(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC),
                         "open /proc/self/mountinfo");
  return Fd(fd);
}

Result<std::vector<std::string>> read_points(int fd) {
  CELLS_SYSCALL(::lseek(fd, 0, SEEK_SET), "rewind /proc/self/mountinfo");
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = CELLS_SYSCALL(::read(fd, buf, sizeof buf), "read /proc/self/mountinfo");
    if (n == 0) break;
    text.append(buf, size_t(n));
  }
  return parse_mount_points(text);
}

// True unless the kernel says the table is unchanged since the last poll (or the open):
// mountinfo raises POLLPRI|POLLERR after a mount or unmount. An error counts as a change,
// since re-reading is always correct.
bool changed(int fd) {
  struct pollfd p = {fd, POLLPRI, 0};
  return ::poll(&p, 1, 0) != 0;
}

Result<std::vector<std::string>> current_points() {
  Cache& c = cache();
  const pid_t me = ::getpid();
  pid_t owner = c.owner.load();
  if (owner == 0 && c.owner.compare_exchange_strong(owner, me)) owner = me;
  if (owner != me) {
    Fd fd = CELLS_TRY(open_mountinfo());
    return read_points(fd.get());
  }
  std::lock_guard<std::mutex> lock(c.mu);
  const ino_t ns = CELLS_TRY(mount_ns());
  if (!c.fd.valid() || c.ns != ns) {
    c.fd = CELLS_TRY(open_mountinfo());
    c.ns = ns;
  } else if (!changed(c.fd.get())) {
    return c.points;
  }
  auto points = read_points(c.fd.get());
  if (!points) {
    c.fd = Fd();  // the next call opens afresh rather than trusting a table it never read
    return std::move(points).error();
  }
  c.points = std::move(*points);
  ++c.reads;
  return c.points;
}

}  // namespace

std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out.push_back(char((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::string> parse_mount_points(const std::string& text) {
  std::vector<std::string> out;
  for (std::string_view line : lines(text)) {
    // id parent major:minor root mountpoint ...
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string_view::npos; ++field) {
      pos = line.find(' ', pos);
      if (pos != std::string_view::npos) ++pos;
    }
    if (pos == std::string_view::npos || pos >= line.size()) continue;
    std::string_view field = line.substr(pos, line.find(' ', pos) - pos);
    out.push_back(unescape_mountinfo(std::string(field)));
  }
  return out;
}

Result<std::optional<std::string>> first_mount_at_or_below(const std::string& dir) {
  auto mount_root = [](int at, const char* name, const std::string& path,
                       struct statx* sx) -> Result<bool> {
    CELLS_SYSCALL(::statx(at, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, sx),
                  "stat " + path);
    return (sx->stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  };
  struct statx sx {};
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) != 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error::sys(errno, "stat " + dir);
  }
  if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
    // A kernel before 5.8 does not say: the table does.
    auto all = CELLS_TRY(mounts_below(dir));
    return all.empty() ? std::optional<std::string>() : std::optional<std::string>(all.front());
  }
  if (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) return std::optional<std::string>(dir);
  // Depth first, one directory open at a time (a deep tree must not need one fd per level).
  std::vector<std::string> todo;
  if (S_ISDIR(sx.stx_mode)) todo.push_back(dir);
  while (!todo.empty()) {
    const std::string d = std::move(todo.back());
    todo.pop_back();
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      return Error::sys(errno, "open " + d);
    }
    DIR* handle = ::fdopendir(fd);
    if (handle == nullptr) {
      int err = errno;
      ::close(fd);
      return Error::sys(err, "read " + d);
    }
    std::optional<std::string> found;
    std::optional<Error> failed;
    while (struct dirent* e = ::readdir(handle)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      std::string child = d + "/" + e->d_name;
      auto is_root = mount_root(fd, e->d_name, child, &sx);
      if (!is_root) {
        if (is_root.error().sys_errno() == ENOENT) continue;  // removed meanwhile
        failed = std::move(is_root).error();
        break;
      }
      if (*is_root) {
        found = child;
        break;
      }
      if (S_ISDIR(sx.stx_mode)) todo.push_back(std::move(child));
    }
    ::closedir(handle);
    if (failed) return std::move(*failed);
    if (found) return found;
  }
  return std::optional<std::string>();
}

namespace {

// listmount(2) and statmount(2), Linux 6.8. The uapi headers of Debian 12 (6.1) lack them, so
// the parts used here are declared from the kernel's ABI; sizes and offsets are fixed there.
constexpr long kSysStatmount = 457;
constexpr long kSysListmount = 458;
constexpr unsigned kStatxMntIdUnique = 0x4000;  // STATX_MNT_ID_UNIQUE
constexpr uint64_t kStatmountMntBasic = 0x2;    // STATMOUNT_MNT_BASIC
constexpr uint64_t kStatmountMntPoint = 0x10;   // STATMOUNT_MNT_POINT
constexpr uint64_t kStatmountAsked = kStatmountMntBasic | kStatmountMntPoint;

struct MntIdReq {  // struct mnt_id_req, version 0 (24 bytes)
  uint32_t size;
  uint32_t spare;
  uint64_t mnt_id;
  uint64_t param;
};
static_assert(sizeof(MntIdReq) == 24);

// The fixed head of struct statmount: its strings start at byte 512 (the uapi struct is
// padded to that size so that new fields never move them).
constexpr size_t kStatmountStrings = 512;
constexpr size_t kStatmountMaskOffset = 8;
constexpr size_t kStatmountParentOffset = 48;
constexpr size_t kStatmountMntPointOffset = 108;

// Mounts below mount ID, or ENOSYS on a kernel without listmount. Some kernels list only the
// direct children, others the whole subtree: callers must not rely on either.
Result<std::vector<uint64_t>> list_children(uint64_t id) {
  std::vector<uint64_t> out;
  uint64_t batch[256];
  MntIdReq req{sizeof(MntIdReq), 0, id, 0};
  for (;;) {
    long n = ::syscall(kSysListmount, &req, batch, std::size(batch), 0);
    if (n < 0) return Error::sys(errno, "list the mounts below mount " + std::to_string(id));
    out.insert(out.end(), batch, batch + n);
    if (size_t(n) < std::size(batch)) return out;
    req.param = batch[n - 1];  // the next call continues after the last ID returned
  }
}

struct MountOf {
  uint64_t parent = 0;
  std::string point;
};

Result<MountOf> stat_mount(uint64_t id) {
  std::vector<char> buf(kStatmountStrings + 4096);
  MntIdReq req{sizeof(MntIdReq), 0, id, kStatmountAsked};
  for (;;) {
    if (::syscall(kSysStatmount, &req, buf.data(), buf.size(), 0) == 0) break;
    if (errno != EOVERFLOW) return Error::sys(errno, "statmount " + std::to_string(id));
    buf.resize(buf.size() * 2);
  }
  uint64_t mask;
  uint32_t offset;
  MountOf out;
  std::memcpy(&mask, buf.data() + kStatmountMaskOffset, sizeof mask);
  std::memcpy(&out.parent, buf.data() + kStatmountParentOffset, sizeof out.parent);
  std::memcpy(&offset, buf.data() + kStatmountMntPointOffset, sizeof offset);
  if ((mask & kStatmountAsked) != kStatmountAsked || kStatmountStrings + offset >= buf.size()) {
    return Error(ErrorKind::kCorrupt, "statmount " + std::to_string(id) + " gave no mount point");
  }
  out.point.assign(buf.data() + kStatmountStrings + offset);
  return out;
}

}  // namespace

Result<std::optional<std::vector<std::string>>> mount_tree_at(const std::string& dir) {
  using Answer = std::optional<std::vector<std::string>>;
  struct statx sx {};
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, kStatxMntIdUnique,
              &sx) != 0) {
    if (errno == ENOENT) return Answer(std::vector<std::string>{});
    return Error::sys(errno, "stat " + dir);
  }
  if (!(sx.stx_mask & kStatxMntIdUnique) || !(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) {
    return Answer();  // a kernel before 6.8 (or 5.8) cannot name the mount
  }
  if (!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) return Answer(std::vector<std::string>{});
  // Every mount below the one on DIR (each ID once, whether a kernel lists children or the
  // whole subtree), then each one's mount point and parent.
  std::vector<uint64_t> ids{sx.stx_mnt_id};
  std::unordered_set<uint64_t> seen{sx.stx_mnt_id};
  for (size_t i = 0; i < ids.size(); ++i) {
    auto kids = list_children(ids[i]);
    if (!kids) {
      // ENOSYS: before 6.8; EPERM: a seccomp filter (a container's) that does not know it.
      const int err = kids.error().sys_errno();
      if (err == ENOSYS || err == EPERM) return Answer();
      return std::move(kids).error();
    }
    for (uint64_t k : *kids) {
      if (seen.insert(k).second) ids.push_back(k);
    }
  }
  std::unordered_map<uint64_t, MountOf> mounts;
  for (size_t i = 1; i < ids.size(); ++i) {
    auto m = stat_mount(ids[i]);
    if (!m) {
      if (m.error().sys_errno() == ENOENT) continue;  // unmounted meanwhile
      return std::move(m).error();
    }
    mounts.emplace(ids[i], std::move(*m));
  }
  // Parents before children, by depth in the tree (IDs are not an order: a mount moved below a
  // newer one has the smaller ID).
  auto depth = [&](uint64_t id) {
    int d = 0;
    for (auto it = mounts.find(id); it != mounts.end(); it = mounts.find(it->second.parent)) ++d;
    return d;
  };
  std::vector<std::pair<int, uint64_t>> order;
  for (const auto& [id, m] : mounts) order.emplace_back(depth(id), id);
  std::sort(order.begin(), order.end());
  std::vector<std::string> out{dir};
  for (const auto& [d, id] : order) out.push_back(std::move(mounts[id].point));
  return Answer(std::move(out));
}

bool is_mount_point(const std::string& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) !=
      0) {
    return false;  // nothing can be mounted on a missing path
  }
  if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  auto all = mounts_below(path);  // a kernel before 5.8 does not say: the table does
  return all && !all->empty() && all->front() == path;
}

uint64_t mount_table_reads() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.reads;
}

Result<std::vector<std::string>> mounts_below(const std::string& dir) {
  std::vector<std::string> out;
  std::vector<std::string> all = CELLS_TRY(current_points());
  for (auto& mp : all) {
    if (dir == "/" || mp == dir || mp.rfind(dir + "/", 0) == 0) out.push_back(std::move(mp));
  }
  return out;
}

}  // namespace cells::engine
