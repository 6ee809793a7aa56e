#include "backup/staging_writer.h"

#include <archive.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/syscall.h"

namespace cells::backup {

Result<Fd> open_beneath(int dir, const std::string& name, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  long fd = detail::retry_eintr(
      [&] { return ::syscall(SYS_openat2, dir, name.c_str(), &how, sizeof how); });
  if (fd < 0) return Error::sys(errno, "open '" + name + "'");
  return Fd(static_cast<int>(fd));
}

namespace {

// The member's metadata as archive_write_disk with OWNER | PERM | TIME | XATTR applies it.
template <typename Meta>
Meta meta_of(struct archive_entry* e) {
  Meta m;
  m.uid = static_cast<uid_t>(archive_entry_uid(e));
  m.gid = static_cast<gid_t>(archive_entry_gid(e));
  m.mode = archive_entry_perm(e) & 07777;
  // No time in the archive (GNU tar writes no atime): leave it alone rather than set 1970.
  m.times[0] = archive_entry_atime_is_set(e)
                   ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                   : timespec{0, UTIME_OMIT};
  m.times[1] = archive_entry_mtime_is_set(e)
                   ? timespec{archive_entry_mtime(e), archive_entry_mtime_nsec(e)}
                   : timespec{0, UTIME_OMIT};
  if (archive_entry_xattr_reset(e) > 0) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (name == nullptr || *name == '\0') continue;
      m.xattrs.emplace_back(name, std::string(static_cast<const char*>(value), size));
    }
  }
  return m;
}

// An unprivileged caller cannot give files away; like archive_write_disk (a warning there),
// the member then keeps the caller as its owner. Restores run as root, where this never applies.
bool may_keep_owner() {
  return errno == EPERM && ::geteuid() != 0;
}

size_t depth(const std::string& name) {
  return name == "." ? 0 : 1 + static_cast<size_t>(std::count(name.begin(), name.end(), '/'));
}

}  // namespace

Result<StagingWriter> StagingWriter::open(const std::string& dir) {
  Fd fd = CELLS_SYSCALL_FD(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                           "open " + dir);
  return StagingWriter(std::move(fd), dir);
}

bool StagingWriter::handles(struct archive_entry* e) {
  return archive_entry_acl_count(e, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E | ARCHIVE_ENTRY_ACL_TYPE_NFS4) ==
         0;
}

Error StagingWriter::fail(int err, const std::string& name, const char* what) const {
  return Error::sys(err, std::string(what) + " '" + name + "' in " + dir_name_);
}

Result<Fd> StagingWriter::open_dir(const std::string& name) {
  if (name == ".") return Fd(CELLS_SYSCALL(::fcntl(dir_.get(), F_DUPFD_CLOEXEC, 0), "dup"));
  return open_beneath(dir_.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
}

Result<int> StagingWriter::parent_of(const std::string& name, std::string* leaf) {
  size_t slash = name.rfind('/');
  if (slash == std::string::npos) {
    *leaf = name;
    return dir_.get();
  }
  *leaf = name.substr(slash + 1);
  std::string parent = name.substr(0, slash);
  // Members come grouped by directory: most find their parent already open.
  if (cached_fd_.valid() && cached_parent_ == parent) return cached_fd_.get();
  auto fd = open_dir(parent);
  if (!fd && fd.error().sys_errno() == ENOENT) {
    // A member without its directory member (another tar's archive): create the missing
    // components one by one, each beneath the last, never through a symlink.
    Fd at = CELLS_TRY(open_dir("."));
    size_t start = 0;
    for (;;) {
      size_t end = parent.find('/', start);
      std::string part = parent.substr(start, end == std::string::npos ? end : end - start);
      if (::mkdirat(at.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return fail(errno, parent, "create directory");
      }
      at = CELLS_TRY_CTX(open_beneath(at.get(), part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW),
                         "create '" + name + "' in " + dir_name_);
      if (end == std::string::npos) break;
      start = end + 1;
    }
    fd = std::move(at);
  }
  if (!fd) return std::move(fd).error().wrap("create '" + name + "' in " + dir_name_);
  cached_parent_ = std::move(parent);
  cached_fd_ = std::move(*fd);
  return cached_fd_.get();
}

void StagingWriter::clear(int parent, const std::string& leaf) {
  struct stat st {};
  if (::fstatat(parent, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
  ::unlinkat(parent, leaf.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
  // The cached directory may have been the one removed.
  cached_fd_ = Fd();
  cached_parent_.clear();
}

Status StagingWriter::begin(const std::string& name, struct archive_entry* e,
                            const std::string& hardlink_to) {
  if (name == ".") {
    // The staging directory itself: it exists; only its metadata is the member's.
    dirs_.push_back({name, meta_of<Meta>(e)});
    return ok_status();
  }
  std::string leaf;
  int parent = CELLS_TRY(parent_of(name, &leaf));
  const char* at = leaf.c_str();

  if (!hardlink_to.empty()) {
    std::string to_leaf;
    // The target's parent may be the cached one: keep its fd alive across the second lookup.
    Fd to_dir;
    int to_parent = dir_.get();
    size_t slash = hardlink_to.rfind('/');
    if (slash == std::string::npos) {
      to_leaf = hardlink_to;
    } else {
      to_leaf = hardlink_to.substr(slash + 1);
      to_dir = CELLS_TRY_CTX(open_dir(hardlink_to.substr(0, slash)),
                             "hard link '" + name + "' in " + dir_name_);
      to_parent = to_dir.get();
    }
    // linkat without AT_SYMLINK_FOLLOW links the member itself, never what a symlink names.
    if (::linkat(to_parent, to_leaf.c_str(), parent, at, 0) != 0) {
      if (errno != EEXIST) return fail(errno, name, "hard link");
      clear(parent, leaf);
      parent = CELLS_TRY(parent_of(name, &leaf));
      if (::linkat(to_parent, to_leaf.c_str(), parent, at, 0) != 0)
        return fail(errno, name, "hard link");
    }
    return ok_status();
  }

  Meta meta = meta_of<Meta>(e);
  const mode_t type = archive_entry_filetype(e);
  if (type == AE_IFDIR) {
    // 0700 until finish(): a read-only directory must still take its children.
    if (::mkdirat(parent, at, 0700) != 0) {
      struct stat st {};
      if (errno != EEXIST || ::fstatat(parent, at, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(errno, name, "create directory");
      if (!S_ISDIR(st.st_mode)) {
        clear(parent, leaf);
        parent = CELLS_TRY(parent_of(name, &leaf));
        if (::mkdirat(parent, at, 0700) != 0) return fail(errno, name, "create directory");
      }
    }
    dirs_.push_back({name, std::move(meta)});
    return ok_status();
  }

  if (type == AE_IFREG) {
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC;
    int fd = ::openat(parent, at, flags, 0600);
    if (fd < 0 && errno == EEXIST) {
      // A later member of the same name replaces the earlier one (a new inode, so a hard link
      // made to the earlier member keeps the earlier data, as with tar).
      clear(parent, leaf);
      parent = CELLS_TRY(parent_of(name, &leaf));
      fd = ::openat(parent, at, flags, 0600);
    }
    if (fd < 0) return fail(errno, name, "create");
    file_ = Fd(fd);
    file_name_ = name;
    file_meta_ = std::move(meta);
    file_size_ = std::max<int64_t>(0, archive_entry_size(e));
    file_end_ = 0;
    return ok_status();
  }

  auto make = [&]() -> int {
    switch (type) {
      case AE_IFLNK: {
        const char* to = archive_entry_symlink(e);
        return ::symlinkat(to != nullptr ? to : "", parent, at);
      }
      case AE_IFIFO:
        return ::mknodat(parent, at, S_IFIFO | 0600, 0);
      case AE_IFCHR:
      case AE_IFBLK:
        return ::mknodat(parent, at, (type == AE_IFCHR ? S_IFCHR : S_IFBLK) | 0600,
                         archive_entry_rdev(e));
      default:
        errno = EINVAL;
        return -1;
    }
  };
  if (make() != 0) {
    if (errno != EEXIST) return fail(errno, name, "create");
    clear(parent, leaf);
    parent = CELLS_TRY(parent_of(name, &leaf));
    if (make() != 0) return fail(errno, name, "create");
  }
  // Not a regular file: no fd to write through. Owner and times by name, never following the
  // member; xattrs and mode through an O_PATH fd of the member itself (fchmod and fsetxattr
  // refuse O_PATH fds; its /proc name reaches exactly that inode).
  if (::fchownat(parent, at, meta.uid, meta.gid, AT_SYMLINK_NOFOLLOW) != 0 && !may_keep_owner())
    return fail(errno, name, "set the owner of");
  if (type != AE_IFLNK || !meta.xattrs.empty()) {
    Fd fd = CELLS_TRY_CTX(open_beneath(parent, leaf, O_PATH | O_NOFOLLOW),
                          "set the metadata of '" + name + "' in " + dir_name_);
    std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
    for (const auto& [key, value] : meta.xattrs) {
      if (::setxattr(proc.c_str(), key.c_str(), value.data(), value.size(), 0) != 0)
        return fail(errno, name, ("set xattr " + key + " of").c_str());
    }
    // A symlink has no mode of its own.
    if (type != AE_IFLNK && ::chmod(proc.c_str(), meta.mode) != 0)
      return fail(errno, name, "set the mode of");
  }
  if (::utimensat(parent, at, meta.times, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(errno, name, "set the times of");
  return ok_status();
}

Status StagingWriter::write_data(const void* buf, size_t len, int64_t offset) {
  // Data for a member that is not a regular file (a hard link carrying data) has no fd: tar
  // ignores it too; the caller has counted it against the size budget.
  if (!file_.valid()) return ok_status();
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t w = ::pwrite(file_.get(), p, len, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return fail(errno, file_name_, "write");
    }
    p += w;
    len -= static_cast<size_t>(w);
    offset += w;
  }
  file_end_ = std::max(file_end_, offset);
  return ok_status();
}

Status StagingWriter::apply_fd(int fd, const Meta& meta, const std::string& name) {
  // Order: owner first (chown clears setuid/setgid and file capabilities), then xattrs
  // (security.capability among them), then the mode, then times (every other change moves
  // ctime only, but the data writes moved mtime).
  if (::fchown(fd, meta.uid, meta.gid) != 0 && !may_keep_owner())
    return fail(errno, name, "set the owner of");
  for (const auto& [key, value] : meta.xattrs) {
    if (::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0) != 0)
      return fail(errno, name, ("set xattr " + key + " of").c_str());
  }
  if (::fchmod(fd, meta.mode) != 0) return fail(errno, name, "set the mode of");
  if (::futimens(fd, meta.times) != 0) return fail(errno, name, "set the times of");
  return ok_status();
}

Status StagingWriter::finish_entry() {
  if (!file_.valid()) return ok_status();
  Fd fd = std::move(file_);
  // A sparse file ending in a hole: its last data block ends before its size.
  if (file_end_ < file_size_ && ::ftruncate(fd.get(), file_size_) != 0)
    return fail(errno, file_name_, "set the size of");
  return apply_fd(fd.get(), file_meta_, file_name_);
}

Status StagingWriter::finish() {
  // Deepest first, so setting a directory's times is the last change inside its parent's
  // children; stable, so a directory named twice gets the later member's metadata.
  std::stable_sort(dirs_.begin(), dirs_.end(), [](const PendingDir& a, const PendingDir& b) {
    return depth(a.name) > depth(b.name);
  });
  cached_fd_ = Fd();
  cached_parent_.clear();
  for (const auto& d : dirs_) {
    Fd fd = CELLS_TRY_CTX(open_dir(d.name), "set the metadata of '" + d.name + "' in " + dir_name_);
    CELLS_TRY(apply_fd(fd.get(), d.meta, d.name));
  }
  dirs_.clear();
  return ok_status();
}

}  // namespace cells::backup
