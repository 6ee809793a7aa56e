#include "engine/rootwrite.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <charconv>
#include <random>

#include "base/syscall.h"
#include "base/text.h"
#include "engine/manifest_check.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

namespace cells::engine {
namespace {

// Every lookup from the root fd: absolute links and ".." stay inside the root, and /proc magic
// links (which could jump anywhere) are refused outright.
constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
constexpr int kMaxSymlinkHops = 40;  // as the kernel's own limit

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string basename_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Relative form of an absolute in-root path for openat2 ("/" -> ".").
std::string rel(const std::string& path) {
  size_t first = path.find_first_not_of('/');
  return first == std::string::npos ? "." : path.substr(first);
}

std::string temp_name(const std::string& name) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return "." + name.substr(0, 200) + ".cells-" + std::to_string(rng() % 1000000000ULL);
}

Result<std::optional<uint32_t>> parse_id(const std::string& s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return std::optional(v);
  return std::optional<uint32_t>();
}

// Looks NAME up in a passwd- or group-format file: "name:x:id:...".
Result<uint32_t> lookup_id(const std::string& db, const std::string& db_path,
                           const std::string& name) {
  for (std::string_view line : lines(db)) {
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos || line.substr(0, c1) != name) continue;
    size_t c2 = line.find(':', c1 + 1);
    size_t c3 = c2 == std::string_view::npos ? c2 : line.find(':', c2 + 1);
    if (c3 == std::string_view::npos) break;
    auto id = CELLS_TRY(parse_id(std::string(line.substr(c2 + 1, c3 - c2 - 1))));
    if (id) return *id;
    break;
  }
  return Error::not_found("'" + name + "' is not in the cell's " + db_path);
}

// The last step of both replacements below: PREPARED says whether the temp entry TMP is
// complete; if so it is renamed over NAME and the directory fsynced, else (or if the rename
// fails) it is removed again.
Status rename_into(int parent, const std::string& tmp, const std::string& name, Status prepared,
                   const std::string& what) {
  if (prepared && ::renameat(parent, tmp.c_str(), parent, name.c_str()) != 0) {
    prepared = Error::sys(errno, "rename into " + what);
  }
  if (!prepared) {
    ::unlinkat(parent, tmp.c_str(), 0);
    return prepared;
  }
  CELLS_SYSCALL(::fsync(parent), "fsync directory of " + what);
  return {};
}

// Replaces the entry NAME of directory PARENT with a regular file: a temp file beside it gets
// CONTENT, owner (if given), MODE and XATTRS, is fsynced and renamed over NAME, and the
// directory is fsynced. Readers see the old entry or the new file, and a symlink at NAME is
// replaced, never followed. WHAT names the entry in errors.
Status replace_with_file(int parent, const std::string& name, std::string_view content,
                         std::optional<uid_t> uid, std::optional<gid_t> gid, uint32_t mode,
                         const std::vector<std::pair<std::string, std::string>>& xattrs,
                         const std::string& what) {
  std::string tmp = temp_name(name);
  Fd out = CELLS_SYSCALL_FD(::openat(parent, tmp.c_str(),
                                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600),
                            "create temp file for " + what);
  auto finish = [&]() -> Status {
    for (size_t done = 0; done < content.size();) {
      ssize_t n = CELLS_SYSCALL(::write(out.get(), content.data() + done, content.size() - done),
                                "write " + what);
      done += static_cast<size_t>(n);
    }
    if (uid || gid) {
      CELLS_SYSCALL(::fchown(out.get(), uid ? *uid : static_cast<uid_t>(-1),
                             gid ? *gid : static_cast<gid_t>(-1)),
                    "chown " + what);
    }
    // After chown: chown clears set-id bits, so the mode goes last.
    CELLS_SYSCALL(::fchmod(out.get(), mode), "chmod " + what);
    for (const auto& attr : xattrs) {  // not a structured binding: see CellRoot::write_file
      CELLS_SYSCALL(::fsetxattr(out.get(), attr.first.c_str(), attr.second.data(),
                                attr.second.size(), 0),
                    "set xattr " + attr.first + " on " + what);
    }
    CELLS_SYSCALL(::fsync(out.get()), "fsync " + what);
    return {};
  };
  return rename_into(parent, tmp, name, finish(), what);
}

// Replaces the entry NAME of directory PARENT with a symlink to TARGET, owned by OWNER when
// given (a link's own owner only matters for restoring one exactly), the same way.
Status replace_with_symlink(int parent, const std::string& name, const std::string& target,
                            std::optional<std::pair<uid_t, gid_t>> owner, const std::string& what) {
  std::string tmp = temp_name(name);
  CELLS_SYSCALL(::symlinkat(target.c_str(), parent, tmp.c_str()), "symlink " + what);
  Status owned = ok_status();
  if (owner && ::fchownat(parent, tmp.c_str(), owner->first, owner->second, AT_SYMLINK_NOFOLLOW) != 0) {
    owned = Error::sys(errno, "chown " + what);
  }
  return rename_into(parent, tmp, name, std::move(owned), what);
}

}  // namespace

Result<Fd> open_resolved(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve,
                         uint32_t mode) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = resolve;
  long fd = CELLS_SYSCALL(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how),
                          "openat2 " + path);
  return Fd(static_cast<int>(fd));
}

Result<std::string> read_all(int fd, const std::string& what) {
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = CELLS_SYSCALL(::read(fd, buf, sizeof buf), "read " + what);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<CellRoot> CellRoot::open(const std::string& root_dir, uint32_t id_base) {
  Fd fd = CELLS_SYSCALL_FD(::open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                           "open cell root " + root_dir);
  return CellRoot(std::move(fd), root_dir, id_base);
}

Result<std::optional<kernel::MappedFsIds>> CellRoot::as_cell_root() const {
  if (id_base_ == 0) return std::optional<kernel::MappedFsIds>{};
  return std::optional<kernel::MappedFsIds>{CELLS_TRY(kernel::MappedFsIds::enter(id_base_))};
}

Result<Fd> CellRoot::open_dir(const std::string& path) const {
  return open_resolved(root_.get(), rel(path), O_RDONLY | O_DIRECTORY, kInRoot);
}

Result<Fd> CellRoot::ensure_dir(const std::string& path, uint32_t last_mode, bool* created) {
  *created = false;
  Fd dir = CELLS_SYSCALL_FD(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0), "dup root fd");
  if (path == "/") return dir;
  // Component by component: each prefix is resolved from the root by the kernel (so in-root
  // symlinks in it are followed the way the cell sees them); a missing one is created with
  // mkdirat in the directory its parent resolved to. A dangling symlink in the way makes
  // mkdirat fail with EEXIST and the re-open fail, so the walk never creates anything outside.
  size_t pos = 0;
  while (pos < path.size()) {
    size_t next = path.find('/', pos + 1);
    if (next == std::string::npos) next = path.size();
    std::string prefix = path.substr(0, next);
    std::string comp = path.substr(pos + 1, next - pos - 1);
    pos = next;
    auto fd = open_dir(prefix);
    if (!fd && fd.error().sys_errno() == ENOENT) {
      uint32_t mode = next == path.size() ? last_mode : 0755;
      if (::mkdirat(dir.get(), comp.c_str(), mode) == 0) {
        *created = true;
      } else if (errno != EEXIST) {
        return Error::sys(errno, "mkdir " + prefix + " in " + dir_);
      }
      fd = open_dir(prefix);
    }
    if (!fd) return std::move(fd).error().wrap("directory " + prefix + " in " + dir_);
    dir = std::move(*fd);
  }
  return dir;
}

Result<CellRoot::Slot> CellRoot::resolve_slot(const std::string& path, bool follow_last,
                                              bool create_parents, std::string* logical_out) {
  if (auto why = check_abs_path(path)) return Error::invalid(*why);
  if (path == "/") return Error::invalid("'/' cannot be written");
  std::string logical = path;
  for (int hop = 0; hop <= kMaxSymlinkHops; ++hop) {
    std::string name = basename_of(logical);
    if (name.empty() || name == "." || name == "..") {
      return Error::invalid(path + " resolves to a directory, not a file");
    }
    Fd parent;
    if (hop == 0 && create_parents) {
      bool created = false;
      parent = CELLS_TRY(ensure_dir(dirname_of(logical), 0755, &created));
    } else {
      // Symlink targets are not created: only the plan's own path gets missing parents.
      auto dir = open_dir(dirname_of(logical));
      if (!dir && hop == 0) return std::move(dir).error();
      if (!dir) return std::move(dir).error().wrap(path + " (through a symlink)");
      parent = std::move(*dir);
    }
    struct stat st;
    bool is_link = ::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                   S_ISLNK(st.st_mode);
    if (!follow_last || !is_link) {
      if (logical_out) *logical_out = logical;
      return Slot{std::move(parent), name};
    }
    char buf[4096];
    ssize_t n = CELLS_SYSCALL(::readlinkat(parent.get(), name.c_str(), buf, sizeof buf - 1),
                              "readlink " + logical);
    std::string target(buf, static_cast<size_t>(n));
    // The next hop is resolved from the root fd again, so ".." and absolute targets in TARGET
    // are confined by RESOLVE_IN_ROOT exactly like the first lookup.
    logical = target.starts_with("/") ? target : dirname_of(logical) + "/" + target;
    while (logical.size() > 1 && logical.back() == '/') logical.pop_back();
  }
  return Error::sys(ELOOP, "resolve " + path);
}

Result<std::string> CellRoot::read(const std::string& path) const {
  if (auto why = check_abs_path(path)) return Error::invalid(*why);
  auto fd = open_resolved(root_.get(), rel(path), O_RDONLY | O_NONBLOCK, kInRoot);
  if (!fd) {
    if (fd.error().sys_errno() == ENOENT) return Error::not_found(path + " does not exist");
    return std::move(fd).error();
  }
  struct stat st;
  CELLS_SYSCALL(::fstat(fd->get(), &st), "stat " + path);
  // The cell may have planted a FIFO or device here; only regular files are read.
  if (!S_ISREG(st.st_mode)) return Error::invalid(path + " is not a regular file");
  return read_all(fd->get(), path);
}

Result<uid_t> CellRoot::resolve_user(const std::string& name) const {
  if (auto id = CELLS_TRY(parse_id(name))) return *id;
  std::string db = CELLS_TRY_CTX(read("/etc/passwd"), "owner '" + name + "'");
  return lookup_id(db, "/etc/passwd", name);
}

Result<gid_t> CellRoot::resolve_group(const std::string& name) const {
  if (auto id = CELLS_TRY(parse_id(name))) return *id;
  std::string db = CELLS_TRY_CTX(read("/etc/group"), "group '" + name + "'");
  return lookup_id(db, "/etc/group", name);
}

Result<std::pair<std::optional<uid_t>, std::optional<gid_t>>> CellRoot::resolve_owner(
    const FileAttrs& attrs) const {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  if (attrs.owner) uid = CELLS_TRY(resolve_user(*attrs.owner)) + id_base_;
  if (attrs.group) gid = CELLS_TRY(resolve_group(*attrs.group)) + id_base_;
  return std::pair{uid, gid};
}

Result<bool> CellRoot::write_file(const std::string& path, std::string_view content,
                                  const FileAttrs& attrs, uint32_t default_mode) {
  // Plain variables, not a structured binding: CELLS_SYSCALL wraps its call in a lambda, and
  // clang before 16 cannot capture structured bindings (the fuzz build uses clang 14).
  const auto ids = CELLS_TRY(as_cell_root());
  const auto owner = CELLS_TRY_CTX(resolve_owner(attrs), "write " + path);
  std::optional<uid_t> uid = owner.first;
  std::optional<gid_t> gid = owner.second;
  Slot slot = CELLS_TRY_CTX(resolve_slot(path, /*follow_last=*/true), "write " + path);
  const char* name = slot.name.c_str();

  // What is there now decides the defaults and whether anything changes at all.
  uint32_t mode = attrs.mode.value_or(default_mode);
  struct stat st;
  if (::fstatat(slot.parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return Error::invalid("write " + path + ": exists and is not a regular file");
    }
    if (!attrs.mode) mode = st.st_mode & 07777;
    if (!uid) uid = st.st_uid;
    if (!gid) gid = st.st_gid;
    Fd old = CELLS_SYSCALL_FD(
        ::openat(slot.parent.get(), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC),
        "open " + path);
    std::string current = CELLS_TRY(read_all(old.get(), path));
    if (current == content && (st.st_mode & 07777) == mode && st.st_uid == *uid &&
        st.st_gid == *gid) {
      return false;
    }
  } else if (errno != ENOENT) {
    return Error::sys(errno, "stat " + path);
  }

  CELLS_TRY(replace_with_file(slot.parent.get(), slot.name, content, uid, gid, mode, {}, path));
  return true;
}

Result<bool> CellRoot::make_dir(const std::string& path, const FileAttrs& attrs) {
  if (auto why = check_abs_path(path)) return Error::invalid("mkdir " + *why);
  if (path == "/") return Error::invalid("mkdir /: the root itself is not the plan's to change");
  // Plain variables, not a structured binding (see write_file).
  const auto ids = CELLS_TRY(as_cell_root());
  const auto owner = CELLS_TRY_CTX(resolve_owner(attrs), "mkdir " + path);
  const std::optional<uid_t> uid = owner.first;
  const std::optional<gid_t> gid = owner.second;
  bool created = false;
  Fd dir = CELLS_TRY_CTX(ensure_dir(path, attrs.mode.value_or(0755), &created), "mkdir " + path);
  bool changed = created;
  struct stat st;
  CELLS_SYSCALL(::fstat(dir.get(), &st), "stat " + path);
  if ((uid && st.st_uid != *uid) || (gid && st.st_gid != *gid)) {
    CELLS_SYSCALL(::fchown(dir.get(), uid ? *uid : static_cast<uid_t>(-1),
                           gid ? *gid : static_cast<gid_t>(-1)),
                  "chown " + path);
    changed = true;
  }
  // mkdirat's mode is filtered by the umask, so the requested mode is always set explicitly.
  if (attrs.mode && ((st.st_mode & 07777) != *attrs.mode || changed)) {
    CELLS_SYSCALL(::fchmod(dir.get(), *attrs.mode), "chmod " + path);
    changed = changed || (st.st_mode & 07777) != *attrs.mode;
  }
  return changed;
}

Result<bool> CellRoot::ensure_line(const std::string& path, const std::string& line) {
  std::string current;
  if (auto r = read(path)) {
    current = std::move(*r);
  } else if (r.error().kind() != ErrorKind::kNotFound) {
    return std::move(r).error().wrap("line in " + path);
  }
  size_t pos = 0;
  while (pos <= current.size() && !current.empty()) {
    size_t nl = current.find('\n', pos);
    if (nl == std::string::npos) nl = current.size();
    if (current.compare(pos, nl - pos, line) == 0 && nl - pos == line.size()) return false;
    pos = nl + 1;
  }
  if (!current.empty() && current.back() != '\n') current += '\n';
  current += line + "\n";
  return write_file(path, current, FileAttrs{});
}

Result<bool> CellRoot::symlink(const std::string& target, const std::string& linkpath) {
  if (target.empty() || target.find('\0') != std::string::npos) {
    return Error::invalid("symlink " + linkpath + ": empty target");
  }
  const auto ids = CELLS_TRY(as_cell_root());
  Slot slot = CELLS_TRY_CTX(resolve_slot(linkpath, /*follow_last=*/false), "symlink " + linkpath);
  struct stat st;
  if (::fstatat(slot.parent.get(), slot.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return Error::invalid("symlink " + linkpath + ": exists and is a directory");
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlinkat(slot.parent.get(), slot.name.c_str(), buf, sizeof buf);
      if (n >= 0 && std::string_view(buf, static_cast<size_t>(n)) == target) return false;
    }
  }
  CELLS_TRY(replace_with_symlink(slot.parent.get(), slot.name, target, std::nullopt, linkpath));
  return true;
}

namespace {

// Every extended attribute of the open file FD, as name and value.
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(int fd, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t size = CELLS_SYSCALL(::flistxattr(fd, nullptr, 0), "list xattrs of " + what);
  if (size == 0) return out;
  std::string names(size_t(size), '\0');
  size = CELLS_SYSCALL(::flistxattr(fd, names.data(), names.size()), "list xattrs of " + what);
  names.resize(size_t(size));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t n = CELLS_SYSCALL(::fgetxattr(fd, name.c_str(), nullptr, 0), "xattr " + name + " of " + what);
    std::string value(size_t(n), '\0');
    n = CELLS_SYSCALL(::fgetxattr(fd, name.c_str(), value.data(), value.size()),
                      "xattr " + name + " of " + what);
    value.resize(size_t(n));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// Removes everything inside the open directory DIR (not DIR itself). A directory that is the
// root of another mount (a volume bound into the cell) is refused, never entered.
Status remove_contents(int dir, const std::string& what) {
  Fd copy = CELLS_SYSCALL_FD(::fcntl(dir, F_DUPFD_CLOEXEC, 0), "dup " + what);
  DIR* d = ::fdopendir(copy.get());
  if (d == nullptr) return Error::sys(errno, "read directory " + what);
  (void)copy.release();
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  for (const auto& n : names) {
    struct statx sx;
    CELLS_SYSCALL(::statx(dir, n.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx),
                  "stat " + what + "/" + n);
    if (S_ISDIR(sx.stx_mode)) {
      if (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) {
        return Error::invalid(what + "/" + n + " is a mount point; it is not removed");
      }
      Fd sub = CELLS_SYSCALL_FD(::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                "open " + what + "/" + n);
      CELLS_TRY(remove_contents(sub.get(), what + "/" + n));
      CELLS_SYSCALL(::unlinkat(dir, n.c_str(), AT_REMOVEDIR), "remove " + what + "/" + n);
    } else {
      CELLS_SYSCALL(::unlinkat(dir, n.c_str(), 0), "remove " + what + "/" + n);
    }
  }
  return ok_status();
}

}  // namespace

Result<EntryImage> CellRoot::image(const std::string& path, bool follow_last) {
  if (auto why = check_abs_path(path)) return Error::invalid(*why);
  if (path == "/") return Error::invalid("'/' cannot be written");
  const auto ids = CELLS_TRY(as_cell_root());
  EntryImage img;
  auto slot = resolve_slot(path, follow_last, /*create_parents=*/false, &img.path);
  if (!slot && slot.error().kind() == ErrorKind::kNotFound) {
    // The write would create directories: the first missing one stands for all of them.
    // Only PATH's directories: a dangling link at PATH itself is no directory the write makes.
    for (size_t pos = 1; pos < path.size(); ++pos) {
      if (path[pos] != '/') continue;
      std::string prefix = path.substr(0, pos);
      auto dir = open_dir(prefix);
      if (dir) continue;
      if (dir.error().sys_errno() != ENOENT) return std::move(dir).error().wrap("image of " + path);
      img.path = prefix;
      return img;  // kAbsent
    }
    return Error::not_found("image of " + path + ": a symlink in it leads to a missing directory");
  }
  if (!slot) return std::move(slot).error().wrap("image of " + path);
  struct stat st;
  if (::fstatat(slot->parent.get(), slot->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return img;  // kAbsent
    return Error::sys(errno, "stat " + img.path);
  }
  img.mode = st.st_mode & 07777;
  img.uid = st.st_uid;
  img.gid = st.st_gid;
  if (S_ISREG(st.st_mode)) {
    img.kind = EntryImage::Kind::kFile;
    Fd fd = CELLS_SYSCALL_FD(::openat(slot->parent.get(), slot->name.c_str(),
                                      O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC),
                             "open " + img.path);
    img.data = CELLS_TRY(read_all(fd.get(), img.path));
    img.xattrs = CELLS_TRY(read_xattrs(fd.get(), img.path));
  } else if (S_ISLNK(st.st_mode)) {
    img.kind = EntryImage::Kind::kSymlink;
    char buf[4096];
    ssize_t n = CELLS_SYSCALL(::readlinkat(slot->parent.get(), slot->name.c_str(), buf, sizeof buf),
                              "readlink " + img.path);
    img.data.assign(buf, size_t(n));
  } else if (S_ISDIR(st.st_mode)) {
    img.kind = EntryImage::Kind::kDir;
  } else {
    return Error::invalid("image of " + path + ": " + img.path +
                          " is neither a file, a symlink nor a directory");
  }
  return img;
}

Status CellRoot::restore(const EntryImage& img) {
  const auto ids = CELLS_TRY(as_cell_root());
  const std::string& path = img.path;
  if (img.kind == EntryImage::Kind::kAbsent) {
    auto slot = resolve_slot(path, /*follow_last=*/false, /*create_parents=*/false);
    if (!slot && slot.error().kind() == ErrorKind::kNotFound) return ok_status();  // still absent
    if (!slot) return std::move(slot).error().wrap("restore " + path);
    struct stat st;
    if (::fstatat(slot->parent.get(), slot->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return ok_status();
      return Error::sys(errno, "stat " + path);
    }
    if (S_ISDIR(st.st_mode)) {
      Fd dir = CELLS_SYSCALL_FD(::openat(slot->parent.get(), slot->name.c_str(),
                                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                                "open " + path);
      CELLS_TRY(remove_contents(dir.get(), path));
    }
    CELLS_SYSCALL(::unlinkat(slot->parent.get(), slot->name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0),
                  "remove " + path);
    CELLS_SYSCALL(::fsync(slot->parent.get()), "fsync directory of " + path);
    return ok_status();
  }
  if (img.kind == EntryImage::Kind::kDir) {
    bool created = false;
    Fd dir = CELLS_TRY_CTX(ensure_dir(path, img.mode, &created), "restore " + path);
    CELLS_SYSCALL(::fchown(dir.get(), img.uid, img.gid), "chown " + path);
    CELLS_SYSCALL(::fchmod(dir.get(), img.mode), "chmod " + path);
    return ok_status();
  }
  // A file or symlink: made beside the entry, then renamed over it.
  Slot slot = CELLS_TRY_CTX(resolve_slot(path, /*follow_last=*/false), "restore " + path);
  if (img.kind == EntryImage::Kind::kFile) {
    return replace_with_file(slot.parent.get(), slot.name, img.data, img.uid, img.gid, img.mode,
                             img.xattrs, path);
  }
  return replace_with_symlink(slot.parent.get(), slot.name, img.data,
                              std::pair<uid_t, gid_t>{img.uid, img.gid}, path);
}

}  // namespace cells::engine
