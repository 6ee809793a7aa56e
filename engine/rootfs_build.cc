#include "engine/rootfs_build.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/files.h"
#include "base/process.h"
#include "base/syscall.h"
#include "engine/mount_table.h"
#include "engine/rootwrite.h"
#include "kernel/mapped_root.h"

namespace cells::engine {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The minimal per-cell /etc of the `host` base. Accounts: root and nobody only.
struct EtcFile {
  const char* name;
  const char* content;
};
constexpr EtcFile kEtcSkeleton[] = {
    {"passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
    {"group", "root:x:0:\nnogroup:x:65534:\n"},
    {"hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"},
    {"nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n"
                      "networks: files\nprotocols: files\nservices: files\n"},
    {"hostname", "cell\n"},
};
// Files of a base's /etc the overlay gets on first use (whatever of them the base has).
constexpr const char* kSeededEtc[] = {"passwd", "group", "hosts", "nsswitch.conf", "hostname",
                                      "resolv.conf"};

std::string host_resolv_conf() {
  return read_file("/etc/resolv.conf").value_or("");
}

// A mount this process made; unmounted on destruction unless release()d. Setup pushes one per
// step, so a failure at any step takes back exactly what was done before it.
class MountGuard {
 public:
  explicit MountGuard(std::string path) : path_(std::move(path)) {}
  MountGuard(MountGuard&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  MountGuard& operator=(MountGuard&&) = delete;
  MountGuard(const MountGuard&) = delete;
  ~MountGuard() {
    if (!path_.empty() && ::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
  }
  void release() { path_.clear(); }

 private:
  std::string path_;
};

// Attaches the detached mount TREE at the directory TARGET_FD.
Status attach_tree(const Fd& tree, int target_fd, const std::string& what) {
  CELLS_SYSCALL(::move_mount(tree.get(), "", target_fd, "",
                             MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH),
                "mount " + what);
  return ok_status();
}

// Attaches a read-only (if RO) recursive clone of SOURCE at the directory TARGET_FD, seen
// through USERNS_FD's mapping unless it is -1.
Status bind_at(const std::string& source, int target_fd, bool ro, int userns_fd, const std::string& what) {
  if (userns_fd >= 0) {
    Fd tree = CELLS_TRY(kernel::mapped_bind(source, userns_fd, ro));
    return attach_tree(tree, target_fd, what);
  }
  Fd tree = CELLS_SYSCALL_FD(
      ::open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE),
      "open_tree " + source);
  if (ro) {
    // The detached tree becomes read-only before it is visible anywhere (the mount-API form of
    // the MS_REMOUNT|MS_BIND|MS_RDONLY second step), so there is no writable window.
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    CELLS_SYSCALL(::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr),
                  "make " + what + " read-only");
  }
  return attach_tree(tree, target_fd, what);
}

// cp -a of every top-level entry of BASE but usr (and the marker) into DEST, for entries DEST
// lacks.
Status copy_top_level(const std::string& base, const std::string& dest) {
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return Error::sys(errno, "open " + base);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && n != "usr" && n != kBaseMarker) names.push_back(n);
  }
  ::closedir(d);
  for (const auto& n : names) {
    if (exists(dest + "/" + n)) continue;
    CELLS_TRY(run_checked({"cp", "-a", base + "/" + n, dest + "/" + n}));
  }
  return ok_status();
}

}  // namespace

bool base_ready(const Paths& paths, const std::string& name) {
  return exists(paths.base_dir() + "/" + name + "/" + kBaseMarker);
}

Result<bool> build_host_base(const Paths& paths) {
  if (base_ready(paths, "host")) return false;
  const std::string final_dir = paths.base_dir() + "/host";
  const std::string tmp = final_dir + ".tmp";
  CELLS_TRY(make_dirs(paths.base_dir(), 0755));
  if (exists(tmp)) CELLS_TRY(remove_tree(tmp));  // an interrupted earlier build
  CELLS_TRY(make_dirs(tmp, 0755));

  // Top-level directories a cell expects; usr stays empty (the host's /usr is bound on it).
  for (const char* d : {"usr", "etc", "proc", "dev", "sys", "run", "var", "var/tmp", "var/log",
                        "var/lib", "var/cache", "root", "srv", "opt", "mnt", "home"}) {
    CELLS_TRY(make_dirs(tmp + "/" + d, 0755));
  }
  CELLS_SYSCALL(::chmod((tmp + "/root").c_str(), 0700), "chmod root");
  CELLS_TRY(make_dirs(tmp + "/tmp", 0755));
  CELLS_SYSCALL(::chmod((tmp + "/tmp").c_str(), 01777), "chmod tmp");
  CELLS_SYSCALL(::chmod((tmp + "/var/tmp").c_str(), 01777), "chmod var/tmp");
  // Merged-usr links, only for what the host has.
  for (const char* l : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    if (!exists(std::string("/usr/") + l)) continue;
    CELLS_SYSCALL(::symlink((std::string("usr/") + l).c_str(), (tmp + "/" + l).c_str()),
                  std::string("symlink ") + l);
  }
  for (const auto& f : kEtcSkeleton) {
    CELLS_TRY(write_file_atomic(tmp + "/etc/" + f.name, f.content, 0644));
  }
  CELLS_TRY(write_file_atomic(tmp + "/etc/resolv.conf", host_resolv_conf(), 0644));
  CELLS_TRY(write_file_atomic(tmp + "/" + kBaseMarker, "host\n", 0644));
  // Last: the rename publishes a complete base or nothing.
  CELLS_SYSCALL(::rename(tmp.c_str(), final_dir.c_str()), "rename " + tmp);
  CELLS_TRY(fsync_parent_dir(final_dir));
  return true;
}

Result<bool> build_debian_base(const Paths& paths, const HostConfig& conf) {
  if (base_ready(paths, "debian")) return false;
  const std::string final_dir = paths.base_dir() + "/debian";
  const std::string tmp = final_dir + ".tmp";
  CELLS_TRY(make_dirs(paths.base_dir(), 0755));
  if (exists(tmp)) CELLS_TRY(remove_tree(tmp));
  if (exists(final_dir)) CELLS_TRY(remove_tree(final_dir));  // unfinished: no marker
  const std::string log = paths.base_dir() + "/debian.log";
  std::string debootstrap = exists("/usr/sbin/debootstrap") ? "/usr/sbin/debootstrap" : "debootstrap";
  // The log is written as debootstrap runs (it takes minutes), so it can be followed.
  auto run = run_process({debootstrap, "--variant=minbase", conf.debian_suite, tmp,
                          conf.debian_mirror}, {.log_path = log});
  if (!run || !run->ok()) {
    (void)remove_tree(tmp);
    Error e = run ? Error(ErrorKind::kSystem, debootstrap + " failed (" + run->describe() +
                                                  "); see " + log)
                  : std::move(run).error();
    return std::move(e).wrap("build base debian");
  }
  CELLS_TRY(write_file_atomic(tmp + "/" + kBaseMarker, "debian\n", 0644));
  CELLS_SYSCALL(::rename(tmp.c_str(), final_dir.c_str()), "rename " + tmp);
  CELLS_TRY(fsync_parent_dir(final_dir));
  return true;
}

CellRootLayout cell_root_layout(const Paths& paths, const std::string& cell) {
  std::string d = paths.cells_dir() + "/" + cell;
  return {d, d + "/overlay", d + "/work", d + "/root", d + "/snapshot"};
}

Status mount_cell_root(const Paths& paths, const std::string& cell, const std::string& base,
                       const std::vector<BindSpec>& binds, RootMode mode, const kernel::IdRange* ids) {
  const std::string ctx = "prepare root of cell " + cell;
  if (mode == RootMode::kCopyUp && ids == nullptr) {
    return Error::invalid(ctx + ": a copy-up root needs the cell's id range");
  }
  if (!base_ready(paths, base)) {
    return Error(ErrorKind::kNotFound, ctx + ": base '" + base + "' is not built (run cellmgr "
                                           "system bootstrap" + (base == "host" ? "" : " --base " + base) + ")");
  }
  const std::string base_dir = paths.base_dir() + "/" + base;
  auto l = cell_root_layout(paths, cell);

  // Step 1: the directories; the writable layer persists across starts.
  for (const auto* d : {&l.overlay, &l.work, &l.root}) CELLS_TRY_CTX(make_dirs(*d, 0755), ctx);
  // A walk of the (unmounted, so nearly empty) root, not the host's whole mount table.
  if (first_mount_at_or_below(l.root).value_or(std::optional<std::string>(l.root))) {
    return Error(ErrorKind::kBusy, ctx + ": " + l.root + " is still mounted (stop the cell first)");
  }

  // Step 2: first use seeds the cell's own /etc from the base's template (kCopyUp: the base's
  // whole top level but /usr), before anything is mounted (writing the upper layer directly
  // is only safe while it is not in use).
  const std::string etc = l.overlay + "/etc";
  const std::string seeded = l.overlay + "/.cells-seeded";
  // A stacked pre-apply layer holds the cell's /etc; the fresh upper above it starts empty.
  const bool stacked = exists(l.snapshot);
  const bool lower_etc = stacked && exists(l.snapshot + "/etc");
  bool first_use = !exists(etc) && !lower_etc;
  const bool lower_seeded = stacked && exists(l.snapshot + "/.cells-seeded");
  if (mode == RootMode::kCopyUp && !exists(seeded) && !lower_seeded) {
    first_use = true;
    CELLS_TRY_CTX(copy_top_level(base_dir, l.overlay), ctx);
    CELLS_TRY_CTX(write_file_atomic(seeded, base + "\n", 0644), ctx);
  }
  if (!exists(etc) && lower_etc) CELLS_TRY_CTX(make_dirs(etc, 0755), ctx);
  if (!exists(etc)) {
    CELLS_TRY_CTX(make_dirs(etc, 0755), ctx);
    for (const char* f : kSeededEtc) {
      if (auto text = read_file(base_dir + "/etc/" + f); text) {
        CELLS_TRY_CTX(write_file_atomic(etc + "/" + f, *text, 0644), ctx);
      }
    }
  }
  if (first_use || (!exists(etc + "/hostname") && !(stacked && exists(l.snapshot + "/etc/hostname")))) {
    CELLS_TRY_CTX(write_file_atomic(etc + "/hostname", cell + "\n", 0644), ctx);
  }
  // The host's resolver settings may change between starts; the cell follows them.
  CELLS_TRY_CTX(write_file_atomic(etc + "/resolv.conf", host_resolv_conf(), 0644), ctx);
  if (!exists(l.overlay + "/tmp")) CELLS_TRY_CTX(make_dirs(l.overlay + "/tmp", 0755), ctx);
  CELLS_SYSCALL(::chmod((l.overlay + "/tmp").c_str(), 01777), ctx + ": chmod tmp");

  // Step 3: the writable layer on root. Later mounts go on top of it, so it is first.
  std::vector<MountGuard> mounted;
  Fd userns;  // kCopyUp: a namespace with the cell's map, only to idmap mounts through
  if (mode == RootMode::kOverlay) {
    std::string lower = stacked ? l.snapshot + ":" + base_dir : base_dir;
    std::string opts = "lowerdir=" + lower + ",upperdir=" + l.overlay + ",workdir=" + l.work;
    CELLS_SYSCALL(::mount("overlay", l.root.c_str(), "overlay", MS_NOSUID | MS_NODEV, opts.c_str()),
                  ctx + ": mount overlay on " + l.root);
  } else {
    // The runtime's mount points must exist before the root is mapped: host root cannot
    // create anything in it then (its uid 0 has no mapping).
    for (const char* d : {"/usr", "/proc", "/dev"}) {
      if (!(stacked && exists(l.snapshot + d))) CELLS_TRY_CTX(make_dirs(l.overlay + d, 0755), ctx);
    }
    userns = CELLS_TRY_CTX(kernel::create_user_namespace(*ids), ctx);
    Fd tree = stacked ? CELLS_TRY_CTX(kernel::mapped_overlay({l.cell_dir, {"snapshot"}, "overlay", "work"},
                                                             userns.get(), ids->host_base),
                                      ctx)
                      : CELLS_TRY_CTX(kernel::mapped_bind(l.overlay, userns.get(), false), ctx);
    Fd root_dir = CELLS_SYSCALL_FD(::open(l.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                   ctx + ": open " + l.root);
    CELLS_TRY_CTX(attach_tree(tree, root_dir.get(), "cell layer on " + l.root), ctx);
  }
  mounted.emplace_back(l.root);

  // Step 4: the host userland for the `host` base, read-only.
  auto root = CELLS_TRY_CTX(CellRoot::open(l.root, ids && mode == RootMode::kCopyUp ? ids->host_base : 0), ctx);
  Fd root_fd = CELLS_SYSCALL_FD(::open(l.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC),
                                ctx + ": open " + l.root);
  auto attach = [&](const std::string& source, const std::string& target, bool ro) -> Status {
    CELLS_TRY(root.make_dir(target, FileAttrs{}));
    Fd dir = CELLS_TRY(open_resolved(
        root_fd.get(), target, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    CELLS_TRY(bind_at(source, dir.get(), ro, userns.valid() ? userns.get() : -1, source + " on " + target));
    mounted.emplace_back(l.root + target);
    return ok_status();
  };
  if (base == "host") {
    CELLS_TRY_CTX(attach("/usr", "/usr", true), ctx);
  } else if (mode == RootMode::kCopyUp) {
    CELLS_TRY_CTX(attach(base_dir + "/usr", "/usr", true), ctx);
  }

  // Step 5: volumes and host paths, parents before children.
  std::vector<BindSpec> sorted = binds;
  std::sort(sorted.begin(), sorted.end(),
            [](const BindSpec& a, const BindSpec& b) { return a.target < b.target; });
  for (const auto& b : sorted) {
    CELLS_TRY_CTX(attach(b.source, b.target, b.read_only), ctx);
  }
  for (auto& m : mounted) m.release();
  return ok_status();
}

namespace {

// What is mounted at or below ROOT, in an order whose reverse unmounts it. The tree mounted on
// ROOT comes from listmount (its cost follows this cell's few mounts; the whole table costs
// ~10 ms with 1,000 cells); the table is read only when that cannot answer, or when something
// is mounted below a ROOT that is itself not mounted, which cells never leaves behind.
Result<std::vector<std::string>> mounts_to_unmount(const std::string& root) {
  auto tree = CELLS_TRY(mount_tree_at(root));
  if (!tree) return mounts_below(root);
  if (!tree->empty()) return std::move(*tree);
  if (CELLS_TRY(first_mount_at_or_below(root))) return mounts_below(root);
  return std::vector<std::string>{};
}

Status unmount_in_reverse(const std::vector<std::string>& mps) {
  // Reverse mount order: a mount made later may sit on top of (or below) an earlier one.
  for (auto it = mps.rbegin(); it != mps.rend(); ++it) {
    if (::umount2(it->c_str(), 0) == 0 || errno == EINVAL || errno == ENOENT) continue;
    if (errno != EBUSY) return Error::sys(errno, "unmount " + *it);
    // Last resort: something (a straggler) still uses it; detach so the tree is gone from the
    // namespace and is freed when the last user lets go.
    CELLS_SYSCALL(::umount2(it->c_str(), MNT_DETACH), "detach " + *it);
  }
  return ok_status();
}

}  // namespace

Status unmount_cell_root(const Paths& paths, const std::string& cell) {
  auto l = cell_root_layout(paths, cell);
  // A tree from listmount holds only the top mount on the root: an interrupted start may have
  // stacked another below it, so go round until nothing is left (the bound only stops a mount
  // that keeps coming back).
  for (int round = 0; round < 16; ++round) {
    auto mps = CELLS_TRY(mounts_to_unmount(l.root));
    if (mps.empty()) return ok_status();
    CELLS_TRY(unmount_in_reverse(mps));
  }
  return Error(ErrorKind::kBusy, "unmount " + l.root + ": something keeps mounting on it");
}

Status remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ok_status();
  // A file (or link) has nothing below it; a mount on it makes the unlink fail with EBUSY.
  if (!S_ISDIR(st.st_mode)) {
    CELLS_SYSCALL(::unlink(path.c_str()), "remove " + path);
    return ok_status();
  }
  if (auto mounted = CELLS_TRY(first_mount_at_or_below(path))) {
    return Error(ErrorKind::kBusy, "refusing to remove " + path + ": " + *mounted + " is mounted");
  }
  // FTW_MOUNT: never cross into another filesystem, whatever appeared since the check.
  int rc = ::nftw(path.c_str(),
                  [](const char* p, const struct stat*, int, struct FTW*) {
                    return ::remove(p) == 0 ? 0 : -1;
                  },
                  32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
  if (rc != 0) return Error::sys(errno, "remove " + path);
  return ok_status();
}

}  // namespace cells::engine
