#include "kernel/mapped_root.h"

#include <fcntl.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/syscall.h"

namespace cells::kernel {
namespace {

// glibc 2.36 has no wrappers for the filesystem-context calls.
int sys_fsopen(const char* fs, unsigned flags) { return int(::syscall(SYS_fsopen, fs, flags)); }
int sys_fsconfig(int fd, unsigned cmd, const char* key, const void* value, int aux) {
  return int(::syscall(SYS_fsconfig, fd, cmd, key, value, aux));
}
int sys_fsmount(int fd, unsigned flags, unsigned attrs) {
  return int(::syscall(SYS_fsmount, fd, flags, attrs));
}

// setfsuid reports the previous id, never an error: the new id is read back to know.
bool set_fs_ids(uint32_t id) {
  ::setfsuid(id);
  ::setfsgid(id);
  return uint32_t(::setfsuid(uid_t(-1))) == id && uint32_t(::setfsgid(gid_t(-1))) == id;
}

}  // namespace

Result<MappedFsIds> MappedFsIds::enter(uint32_t id) {
  int old_bits = CELLS_SYSCALL(::prctl(PR_GET_SECUREBITS), "read securebits");
  // First the securebit: switching fsuid away from 0 would otherwise drop CAP_CHOWN,
  // CAP_DAC_OVERRIDE, CAP_FOWNER and the like from the effective set.
  CELLS_SYSCALL(::prctl(PR_SET_SECUREBITS, old_bits | SECBIT_NO_SETUID_FIXUP),
                "set SECBIT_NO_SETUID_FIXUP");
  MappedFsIds ids(old_bits, uid_t(::setfsuid(uid_t(-1))), gid_t(::setfsgid(gid_t(-1))));
  if (!set_fs_ids(id)) return Error::sys(EPERM, "set filesystem ids to " + std::to_string(id));
  return ids;
}

MappedFsIds::~MappedFsIds() {
  if (!active_) return;
  ::setfsuid(old_uid_);
  ::setfsgid(old_gid_);
  ::prctl(PR_SET_SECUREBITS, old_bits_);
}

Result<Fd> mapped_bind(const std::string& path, int userns_fd, bool ro) {
  Fd tree = CELLS_SYSCALL_FD(::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE),
                             "open_tree " + path);
  struct mount_attr attr {};
  attr.attr_set = MOUNT_ATTR_IDMAP | (ro ? MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV : 0);
  attr.userns_fd = uint64_t(userns_fd);
  CELLS_SYSCALL(::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
                "idmap mount of " + path);
  return tree;
}

Result<Fd> mapped_overlay(const MappedOverlay& l, int userns_fd, uint32_t host_root) {
  // Step 1: one idmapped clone of the directory holding the layers; upper and work are then
  // on one mount, which overlayfs requires.
  Fd dir = CELLS_TRY(mapped_bind(l.dir, userns_fd, false));
  auto layer = [&](const std::string& name) -> Result<Fd> {
    return CELLS_SYSCALL_FD(::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                            "open layer " + l.dir + "/" + name);
  };
  Fd ctx = CELLS_SYSCALL_FD(sys_fsopen("overlay", FSOPEN_CLOEXEC), "fsopen overlay");
  auto set_fd = [&](const char* key, const std::string& name) -> Status {
    Fd fd = CELLS_TRY(layer(name));
    CELLS_SYSCALL(sys_fsconfig(ctx.get(), FSCONFIG_SET_FD, key, nullptr, fd.get()),
                  std::string("overlay ") + key + " " + l.dir + "/" + name);
    return ok_status();
  };
  // Step 2: the layers, by fd.
  for (const auto& lower : l.lowers) CELLS_TRY(set_fd("lowerdir+", lower));
  CELLS_TRY(set_fd("upperdir", l.upper));
  CELLS_TRY(set_fd("workdir", l.work));
  // Step 3: the superblock, created with the cell root's ids (the creator's credentials are
  // what overlayfs works in the upper layer with), then a detached mount of it.
  {
    auto ids = CELLS_TRY(MappedFsIds::enter(host_root));
    CELLS_SYSCALL(sys_fsconfig(ctx.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0),
                  "create overlay of " + l.dir);
  }
  return CELLS_SYSCALL_FD(sys_fsmount(ctx.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV),
                          "fsmount overlay of " + l.dir);
}

}  // namespace cells::kernel
