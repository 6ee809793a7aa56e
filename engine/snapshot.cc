#include "engine/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#include "base/files.h"
#include "base/syscall.h"

namespace cells::engine::snapshot {
namespace {

constexpr const char* kOpaque = "trusted.overlay.opaque";

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool opaque(const std::string& p) {
  char v[4] = {};
  ssize_t n = ::lgetxattr(p.c_str(), kOpaque, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

Status rename_path(const std::string& from, const std::string& to) {
  CELLS_SYSCALL(::rename(from.c_str(), to.c_str()), "rename " + from + " to " + to);
  return ok_status();
}

// Mode, ownership, times and xattrs of directory FROM onto directory TO. overlayfs's own
// bookkeeping xattrs (origin, impure) describe FROM's layer and are not copied.
Status copy_dir_attrs(const std::string& from, const std::string& to) {
  struct stat st;
  CELLS_SYSCALL(::lstat(from.c_str(), &st), "stat " + from);
  CELLS_SYSCALL(::lchown(to.c_str(), st.st_uid, st.st_gid), "chown " + to);
  CELLS_SYSCALL(::chmod(to.c_str(), st.st_mode & 07777), "chmod " + to);
  std::vector<char> names(65536);
  ssize_t n = ::llistxattr(from.c_str(), names.data(), names.size());
  for (ssize_t i = 0; n > 0 && i < n;) {
    std::string name(&names[size_t(i)]);
    i += ssize_t(name.size()) + 1;
    if (name.rfind("trusted.overlay.", 0) == 0 && name != kOpaque) continue;
    std::vector<char> value(65536);
    ssize_t len = ::lgetxattr(from.c_str(), name.c_str(), value.data(), value.size());
    if (len < 0) return Error::sys(errno, "getxattr " + name + " of " + from);
    CELLS_SYSCALL(::lsetxattr(to.c_str(), name.c_str(), value.data(), size_t(len), 0),
                  "setxattr " + name + " on " + to);
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  CELLS_SYSCALL(::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW), "utimes " + to);
  return ok_status();
}

// Moves every entry of upper directory U down into lower directory L so that L alone shows
// what the stack L+U showed. Each entry is replaced in one rename after the old one is removed,
// so the merged view is the same at every moment (a crash leaves a stack that still reads
// right, and a re-run continues).
Status fold_dir(const std::string& u, const std::string& l) {
  std::vector<std::string> names;
  DIR* d = ::opendir(u.c_str());
  if (d == nullptr) return Error::sys(errno, "open " + u);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    const std::string up = u + "/" + n, lo = l + "/" + n;
    if (is_dir(up) && !opaque(up) && is_dir(lo)) {
      // A merged directory: its entries fold one by one, its attributes are the upper's.
      CELLS_TRY(fold_dir(up, lo));
      CELLS_TRY(copy_dir_attrs(up, lo));
      continue;
    }
    // Files, symlinks, whiteouts (0:0 character devices), opaque directories and directories
    // that replace a non-directory all hide the lower entry completely: they move down whole.
    const bool replaced_non_dir = is_dir(up) && exists(lo);
    if (exists(lo)) CELLS_TRY(remove_tree(lo));
    CELLS_TRY(rename_path(up, lo));
    if (replaced_non_dir) {
      // Above a non-directory the upper directory was not merged with the base; keep it so.
      CELLS_SYSCALL(::lsetxattr(lo.c_str(), kOpaque, "y", 1, 0), "mark " + lo + " opaque");
    }
  }
  return ok_status();
}

Status reset_work(const CellRootLayout& l) {
  // overlayfs's scratch directory belongs to one upper layer; a new upper gets a clean one.
  CELLS_TRY(remove_tree(l.work));
  return make_dirs(l.work, 0755);
}

// After a crash between the two renames of fold() or discard(): the snapshot becomes the
// upper again, and leftovers of the replaced layer go.
Status tidy(const CellRootLayout& l) {
  if (!exists(l.overlay) && exists(l.snapshot)) CELLS_TRY(rename_path(l.snapshot, l.overlay));
  for (const char* s : {".old", ".discard"}) CELLS_TRY(remove_tree(l.overlay + s));
  return ok_status();
}

}  // namespace

bool present(const CellRootLayout& l) { return exists(l.snapshot); }

Status fold(const CellRootLayout& l) {
  CELLS_TRY(tidy(l));
  if (!exists(l.snapshot)) return ok_status();
  // Step 1: the fresh layer's changes move down (the commit point of each entry).
  CELLS_TRY_CTX(fold_dir(l.overlay, l.snapshot), "fold " + l.overlay);
  CELLS_TRY(copy_dir_attrs(l.overlay, l.snapshot));
  // Step 2: the emptied layer goes aside and the snapshot becomes the upper (tidy() finishes
  // this after a crash in between).
  CELLS_TRY(rename_path(l.overlay, l.overlay + ".old"));
  CELLS_TRY(rename_path(l.snapshot, l.overlay));
  CELLS_TRY(remove_tree(l.overlay + ".old"));
  return reset_work(l);
}

Status take(const CellRootLayout& l) {
  CELLS_TRY(fold(l));
  CELLS_TRY(make_dirs(l.overlay, 0755));
  // The whole snapshot: one rename. The fresh upper's top directory looks like the old one.
  CELLS_TRY(rename_path(l.overlay, l.snapshot));
  CELLS_TRY(make_dirs(l.overlay, 0755));
  CELLS_TRY(copy_dir_attrs(l.snapshot, l.overlay));
  return reset_work(l);
}

Status discard(const CellRootLayout& l) {
  if (!exists(l.snapshot)) return tidy(l);
  if (exists(l.overlay)) CELLS_TRY(rename_path(l.overlay, l.overlay + ".discard"));
  CELLS_TRY(rename_path(l.snapshot, l.overlay));
  CELLS_TRY(remove_tree(l.overlay + ".discard"));
  return reset_work(l);
}

}  // namespace cells::engine::snapshot
